#!/bin/bash
# MISTAKE: node2 keeps its dockerd off the store and makes a bridge network net1 of its own (10.0.0.0/24)
# Seed 003's Docker overlay network across two hosts, as the seed runs it (Docker 20.10 still has
# --cluster-store): run on node1, then on node2.
#   node1: etcd, the cluster store (with its v2 API: the only one Docker's libkv speaks); dockerd
#          restarted on the store; the overlay network net1; the container over-node1
#   node2: dockerd restarted on the store (net1 is there by itself); the container over-node2
# Usage: bash overlay.sh

set -euo pipefail
STORE=192.168.56.11     # node1's underlay address
me=$(hostname)

if [ "$me" = node1 ]; then
  # etcd 3.4 serves the v2 API only when asked to (--enable-v2); its data on the disk, not in /tmp
  setsid -f etcd --name node1 --data-dir /var/lib/etcd/docker --enable-v2=true \
    --listen-client-urls "http://$STORE:2379,http://127.0.0.1:2379" --advertise-client-urls "http://$STORE:2379" \
    </dev/null >/var/log/etcd.log 2>&1
  timeout 120 sh -c "until curl -sf http://$STORE:2379/v2/keys/ >/dev/null; do sleep 0.2; done"
fi

if [ "$me" = node2 ]; then
  docker network create --subnet 10.0.0.0/24 net1
  docker run -d --name "over-$me" --network net1 busybox sh -c "echo hello from $me > /index.html; exec httpd -f -p 80 -h /"
  exit 0
fi

# 修改 docker 的启动参数, 加上 --cluster-store, 重启 docker (seed 003; 这里没有 systemd, 直接重启 dockerd)
pkill -x dockerd || true
while pgrep -x dockerd >/dev/null; do sleep 0.2; done
# Debian's docker.service runs dockerd on the containerd that containerd.service started: keep that option
setsid -f dockerd --containerd=/run/containerd/containerd.sock --cluster-store="etcd://$STORE:2379" --cluster-advertise=eth1:2376 \
  </dev/null >/var/log/dockerd.log 2>&1
# dockerd takes seconds to answer (minutes on a loaded emulated CPU): wait for it, within limits
timeout 360 sh -c 'until docker info >/dev/null 2>&1; do sleep 0.5; done'

if [ "$me" = node1 ]; then
  docker network create --driver overlay net1
fi
docker run -d --name "over-$me" --network net1 busybox sh -c "echo hello from $me > /index.html; exec httpd -f -p 80 -h /"
