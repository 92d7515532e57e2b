#!/bin/bash
# Docker's three single-host network modes side by side (seed 003), by hand:
#   host   - a "container" that shares the host's network namespace: its server on port 8080 is a
#            port of the host itself
#   none   - a namespace with only lo (up) and nothing else: no interface, no route
#   bridge - a namespace on the bridge docker0 (172.17.0.1/16) through a veth pair, default route
#            via docker0, and the MASQUERADE rule seed 003 shows for 172.17.0.0/16
# Usage: bash modes.sh up | bash modes.sh down

set -o pipefail

if [ "$1" = "up" ]; then

# ---- bridge 模式: docker0 网桥 + veth pair, 容器内网卡叫 eth0 ----
ip link add docker0 type bridge
ip addr add 172.17.0.1/16 dev docker0
ip link set docker0 up

ip netns add c-bridge
ip netns exec c-bridge ip link set lo up
# 主机上已经有 eth0 (VM 的管理网卡), 所以对端先用别的名字, 移进命名空间后再改名为 eth0
ip link add veth-bridge type veth peer name ceth0
ip link set ceth0 netns c-bridge
ip netns exec c-bridge ip link set ceth0 name eth0
ip link set veth-bridge master docker0
ip link set veth-bridge up
ip netns exec c-bridge ip addr add 172.17.0.2/16 dev eth0
ip netns exec c-bridge ip link set eth0 up
ip netns exec c-bridge ip route add default via 172.17.0.1

# 容器出宿主机的流量做 SNAT (seed 003: MASQUERADE all -- 172.17.0.0/16 0.0.0.0/0)
sysctl -w net.ipv4.ip_forward=1
iptables -t nat -A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE

# ---- none 模式: 只有 lo ----
ip netns add c-none
ip netns exec c-none ip link set lo up

# ---- host 模式: 不创建网络命名空间, 直接用宿主机的 ----
# The "container" gets its own PID, mount and UTS namespaces (as a docker container does), but no
# network namespace of its own: python3's server listens on the host's port 8080. All of its file
# descriptors are redirected, so it outlives this script without holding the SSH session open.
mkdir -p /srv/host-c
echo "hello from the host-mode container" > /srv/host-c/index.html
nohup unshare --pid --mount --uts --fork --mount-proc --kill-child \
  python3 -m http.server 8080 --directory /srv/host-c </dev/null >/var/log/host-c.log 2>&1 &
echo $! > /run/host-c.pid

# wait until it answers
for _ in $(seq 100); do curl -sf -o /dev/null http://127.0.0.1:8080/ && break; sleep 0.2; done

echo "[Debug] host mode: ss -ltnp 'sport = :8080'"
ss -ltnp 'sport = :8080'
echo "[Debug] none mode: c-none"
ip netns exec c-none ip addr
ip netns exec c-none ip route
echo "[Debug] bridge mode: c-bridge"
ip netns exec c-bridge ip addr
ip netns exec c-bridge ip route
brctl show docker0
iptables -t nat -S POSTROUTING

fi

if [ "$1" = "down" ]; then

kill "$(cat /run/host-c.pid)"
ip netns delete c-none
ip netns delete c-bridge
ip link delete docker0
iptables -t nat -D POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE

fi
