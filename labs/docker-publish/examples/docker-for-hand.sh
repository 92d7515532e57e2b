#!/bin/bash
# MISTAKE: "hand" published by Docker (a second container with -p 8081:80), nothing by hand
# Publishing a container's port (seed 003's bridge mode: "将容器内部的服务监听的端口与宿主机的某一个端口
# 进行绑定"), done by Docker and then by hand, side by side on the same docker0:
#   web  - docker run -p 8080:80: Docker's DNAT, its FORWARD accept and a docker-proxy
#   hand - a namespace you build on docker0, its port 80 published as 8081 with Docker's own rules
# Usage: bash publish.sh

set -euo pipefail

# ---- Docker ----
docker run -d --name web -p 8080:80 busybox sh -c 'echo hello from docker > /index.html; exec httpd -f -p 80 -h /'

docker run -d --name hand -p 8081:80 busybox sh -c 'echo hello by hand > /index.html; exec httpd -f -p 80 -h /'
