#!/bin/bash
# Reference solution of the overlay lab: docker's overlay network by hand. One script, run on both
# hosts: `bash overlay.sh up` builds this host's end and registers it in etcd, `bash overlay.sh join`
# reads the other hosts from etcd and points the VXLAN device at them.
set -eu

export ETCDCTL_API=3
ETCD=http://192.168.56.11:2379          # the cluster store (docker's --cluster-store=etcd://...)
KEYS=/overlay/vxlan256/hosts            # one key per host: <KEYS>/<VTEP address> = "<container IP> <container MAC>"
VNI=256                                 # docker's overlay VXLAN ids start at 256
MTU=1450                                # 1500 minus the 50 bytes VXLAN adds (outer IP 20 + UDP 8 + VXLAN 8 + inner Ethernet 14)

# Which host is this? Its underlay address on eth1 (the VTEP) says so.
VTEP=$(ip -4 -o addr show dev eth1 | awk '{ split($4, a, "/"); print a[1] }')
case "$VTEP" in
  192.168.56.11) IP=10.0.0.2 ;;
  192.168.56.12) IP=10.0.0.3 ;;
  *) echo "unknown host: eth1 has '$VTEP'" >&2; exit 1 ;;
esac
# Docker's MAC for a container: 02:42 followed by the four bytes of its IP address.
IFS=. read -r b1 b2 b3 b4 <<<"$IP"
MAC=$(printf '02:42:%02x:%02x:%02x:%02x' "$b1" "$b2" "$b3" "$b4")

case "${1:-}" in
up)
  # The overlay's switch on this host: a bridge, with the VXLAN device as its port to the other hosts.
  ip link add br0 type bridge
  ip link set br0 up
  ip link add vxlan256 type vxlan id $VNI dstport 4789 local "$VTEP" dev eth1 nolearning
  ip link set vxlan256 master br0
  ip link set vxlan256 up

  # The container, on br0, with the overlay's smaller MTU.
  ip netns add container
  ip link add veth0 type veth peer name eth0 netns container
  ip link set veth0 mtu $MTU master br0 up
  ip -n container link set lo up
  ip -n container link set eth0 address "$MAC" mtu $MTU
  ip -n container addr add "$IP/24" dev eth0
  ip -n container link set eth0 up

  # Membership: this VTEP carries this container.
  etcdctl --endpoints $ETCD put "$KEYS/$VTEP" "$IP $MAC"
  ;;

join)
  # Every other host in etcd: send broadcasts and unknown destinations there (head-end replication),
  # and its container's MAC straight to it.
  etcdctl --endpoints $ETCD get --prefix "$KEYS/" | while read -r key && read -r value; do
    peer=${key##*/}
    [ "$peer" = "$VTEP" ] && continue
    read -r peer_ip peer_mac <<<"$value"
    echo "peer $peer: container $peer_ip $peer_mac"
    bridge fdb append 00:00:00:00:00:00 dev vxlan256 dst "$peer"
    bridge fdb replace "$peer_mac" dev vxlan256 dst "$peer"
  done
  bridge fdb show dev vxlan256
  ;;

*)
  echo "usage: $0 up|join" >&2
  exit 2
  ;;
esac
