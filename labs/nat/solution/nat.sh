#!/bin/bash
# Reference solution of the NAT lab: docker0, one container, then source NAT and a published port,
# built step by step as docker does it. Run once per stage: bash nat.sh bridge|masquerade|publish
set -eu

BRIDGE=docker0
SUBNET=172.17.0.0/16
GATEWAY=172.17.0.1
CONTAINER_IP=172.17.0.2

case "${1:-}" in
bridge)
  # Stage 1: what seed 004 built. The container is on docker0 with a default route, and the host
  # forwards (routes) packets, but nothing rewrites their source address yet.
  ip link add $BRIDGE type bridge
  ip addr add $GATEWAY/16 dev $BRIDGE
  ip link set $BRIDGE up

  ip netns add container
  ip link add veth0 type veth peer name eth0 netns container
  ip link set veth0 master $BRIDGE
  ip link set veth0 up
  ip -n container link set lo up
  ip -n container addr add $CONTAINER_IP/16 dev eth0
  ip -n container link set eth0 up
  ip -n container route add default via $GATEWAY

  # The host routes between docker0 and eth1 (docker sets this too).
  sysctl -w net.ipv4.ip_forward=1

  echo "[Debug] ping from the container to the outside (203.0.113.10), no NAT yet:"
  ip netns exec container ping -c 2 -W 1 203.0.113.10 || echo "no reply: the outside cannot answer 172.17.0.2"
  ;;

masquerade)
  # Stage 2: seed 003's rule. Packets from the containers' subnet that leave by any interface other
  # than docker0 get the address of that interface as their source.
  iptables -t nat -A POSTROUTING -s $SUBNET ! -o $BRIDGE -j MASQUERADE
  # Seed 001's trace: log ICMP from the containers as it enters the host, before any rewrite.
  iptables -t raw -A PREROUTING -i $BRIDGE -p icmp -j LOG --log-prefix "nat-trace: "
  iptables -t nat -S POSTROUTING

  echo "[Debug] ping from the container to the outside, with MASQUERADE:"
  ip netns exec container ping -c 2 -W 1 203.0.113.10
  ;;

publish)
  # Stage 3: docker run -p 8080:80. A web server in the container on port 80 (busybox httpd puts
  # itself in the background, so this script ends while the server runs on)...
  mkdir -p /srv/www
  echo "hello from the container" > /srv/www/index.html
  ip netns exec container busybox httpd -p $CONTAINER_IP:80 -h /srv/www
  # ...and the host's port 8080 forwarded to it, as docker's DNAT rule does.
  iptables -t nat -A PREROUTING -p tcp --dport 8080 -j DNAT --to-destination $CONTAINER_IP:80
  iptables -t nat -S PREROUTING

  echo "[Debug] the container's server, from the host:"
  curl -sS -m 3 http://$CONTAINER_IP/
  ;;

*)
  echo "usage: $0 bridge|masquerade|publish" >&2
  exit 2
  ;;
esac
