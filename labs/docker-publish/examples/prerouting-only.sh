#!/bin/bash
# MISTAKE: the NAT lab's DNAT rule in PREROUTING, with no ACCEPT: Docker's FORWARD policy is DROP
# Publishing a container's port (seed 003's bridge mode: "将容器内部的服务监听的端口与宿主机的某一个端口
# 进行绑定"), done by Docker and then by hand, side by side on the same docker0:
#   web  - docker run -p 8080:80: Docker's DNAT, its FORWARD accept and a docker-proxy
#   hand - a namespace you build on docker0, its port 80 published as 8081 with Docker's own rules
# Usage: bash publish.sh

set -euo pipefail

# ---- Docker ----
docker run -d --name web -p 8080:80 busybox sh -c 'echo hello from docker > /index.html; exec httpd -f -p 80 -h /'

# ---- by hand: a namespace on docker0 with a web server ----
ip netns add hand
ip netns exec hand ip link set lo up
ip link add veth-hand type veth peer name ceth0
ip link set ceth0 netns hand
ip netns exec hand ip link set ceth0 name eth0
ip link set veth-hand master docker0
ip link set veth-hand up
ip netns exec hand ip addr add 172.17.0.100/16 dev eth0
ip netns exec hand ip link set eth0 up
ip netns exec hand ip route add default via 172.17.0.1
mkdir -p /srv/hand && echo "hello by hand" > /srv/hand/index.html
ip netns exec hand busybox httpd -p 80 -h /srv/hand

# ---- by hand: what `-p 8081:80` would have added (iptables -t nat -S DOCKER; iptables -S DOCKER) ----
# 入方向: 发往本机 8081 端口的连接改写目的地址为 hand 的 172.17.0.100:80 (DOCKER 链同时挂在 PREROUTING 和 OUTPUT 上)
iptables -t nat -A PREROUTING -p tcp --dport 8081 -j DNAT --to-destination 172.17.0.100:80
