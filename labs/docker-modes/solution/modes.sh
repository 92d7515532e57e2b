#!/bin/bash
# Docker's three single-host network modes (seed 003) run by Docker itself, then Docker's bridge mode
# built again by hand next to it (seed 001), on the same docker0:
#   c-bridge - docker run (bridge mode, the default): a namespace on docker0 through a veth pair
#   c-host   - docker run --network host: no namespace of its own, its server is the host's port 8080
#   c-none   - docker run --network none: a namespace with lo and nothing else
#   hand     - the namespace you build: what Docker built for c-bridge, by hand
# Usage: bash modes.sh

set -euo pipefail

# ---- Docker ----
docker run -d --name c-bridge busybox sh -c 'echo hello from c-bridge > /index.html; exec httpd -f -p 80 -h /'
docker run -d --name c-host --network host busybox sh -c 'echo hello from c-host > /index.html; exec httpd -f -p 8080 -h /'
docker run -d --name c-none --network none busybox sleep 86400

# ---- by hand: what Docker did for c-bridge ----
ip netns add hand
ip netns exec hand ip link set lo up
# 主机上已经有 eth0, 所以容器端先用别的名字, 移进命名空间后再改名为 eth0 (Docker 也是这样做的)
ip link add veth-hand type veth peer name ceth0
ip link set ceth0 netns hand
ip netns exec hand ip link set ceth0 name eth0
ip link set veth-hand master docker0
ip link set veth-hand up
# Docker's MAC for an address is 02:42 followed by the address's four bytes: 172.17.0.100 -> ac:11:00:64
ip netns exec hand ip link set eth0 address 02:42:ac:11:00:64
ip netns exec hand ip addr add 172.17.0.100/16 dev eth0
ip netns exec hand ip link set eth0 up
ip netns exec hand ip route add default via 172.17.0.1
