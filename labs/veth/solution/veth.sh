#!/bin/bash
# Two namespaces joined directly by one veth pair (seed 001, "Veth Pair 设备"; seeds 000 and 002 do
# the same with other names). Usage: bash veth.sh up | bash veth.sh down

set -o pipefail

if [ "$1" = "up" ]; then

# 创建namespace
ip netns add ns1
ip netns add ns2

# 创建一对 veth pair
ip link add veth111 type veth peer name veth222

# 将 veth 两端分别加入两个命名空间
ip link set veth111 netns ns1
ip link set veth222 netns ns2

# 给两个 veth 设置ip 并且启用
ip netns exec ns1 ip addr add 10.1.1.2/24 dev veth111
ip netns exec ns2 ip addr add 10.1.1.3/24 dev veth222
ip netns exec ns1 ip link set veth111 up
ip netns exec ns2 ip link set veth222 up

# 启用两个命名空间的 lo 设备 (新建的命名空间里 lo 是 DOWN 的, ping 127.0.0.1 不通)
ip netns exec ns1 ip link set lo up
ip netns exec ns2 ip link set lo up

echo "[Debug] ns1:"
ip netns exec ns1 ip addr
echo "[Debug] ns2:"
ip netns exec ns2 ip addr

# ping 一下试试
ip netns exec ns1 ping -c 2 10.1.1.3
ip netns exec ns2 ping -c 2 10.1.1.2

fi

if [ "$1" = "down" ]; then

# 删除命名空间 (veth pair 随之删除)
ip netns delete ns1
ip netns delete ns2

fi
