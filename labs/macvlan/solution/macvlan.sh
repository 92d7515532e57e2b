#!/bin/bash
# Two "containers" (namespaces c1, c2) on the host's LAN through macvlan interfaces on eth1, in
# bridge mode, each with its own MAC and its own address on 172.16.86.0/24 (the macvlan network of
# the CloudMan articles seed 003 links to). The peer VM on the same segment reaches them directly.
# Bonus: the host cannot reach its own macvlan children through eth1, so it gets a macvlan
# interface of its own (mv-host) and routes the containers' addresses through it.
# Usage: bash macvlan.sh up | bash macvlan.sh down

set -o pipefail

if [ "$1" = "up" ]; then

# 父接口 eth1 (lab 链路 lan, 172.16.86.2/24) 必须是 up 的
ip link set eth1 up

ip netns add c1
ip netns add c2
ip netns exec c1 ip link set lo up
ip netns exec c2 ip link set lo up

# macvlan 子接口: 挂在 eth1 上, bridge 模式, 每个有自己的 MAC
ip link add mv1 link eth1 type macvlan mode bridge
ip link add mv2 link eth1 type macvlan mode bridge
ip link set mv1 netns c1
ip link set mv2 netns c2

ip netns exec c1 ip addr add 172.16.86.10/24 dev mv1
ip netns exec c2 ip addr add 172.16.86.11/24 dev mv2
ip netns exec c1 ip link set mv1 up
ip netns exec c2 ip link set mv2 up

# Bonus: 宿主机通过 eth1 访问不到自己的 macvlan 子接口; 给宿主机也建一个 macvlan 接口,
# 到容器地址 (172.16.86.8/29: .8-.15) 的路由走它
ip link add mv-host link eth1 type macvlan mode bridge
ip addr add 172.16.86.20/32 dev mv-host
ip link set mv-host up
ip route add 172.16.86.8/29 dev mv-host

echo "[Debug] macvlan interfaces:"
ip -d -o link show type macvlan
for ns in c1 c2; do echo "== $ns"; ip netns exec $ns ip -d addr; done

echo "[Debug] c1 -> c2:"
ip netns exec c1 ping -c 2 -W 1 172.16.86.11
echo "[Debug] c1 -> peer 172.16.86.3:"
ip netns exec c1 ping -c 2 -W 1 172.16.86.3
echo "[Debug] host -> c1 through mv-host:"
ping -c 2 -W 1 172.16.86.10

fi

if [ "$1" = "down" ]; then

ip netns delete c1
ip netns delete c2
ip link delete mv-host

fi
