#!/bin/bash
# A typical mistake: the pair is right, but lo stays down in blue (ping 127.0.0.1 there:
# "Network is unreachable").
set -euo pipefail

ip netns add blue
ip link add veth0 type veth peer name veth1
ip link set veth1 netns blue

ip addr add 10.0.0.1/24 dev veth0
ip link set veth0 up
ip -n blue addr add 10.0.0.2/24 dev veth1
ip -n blue link set veth1 up
