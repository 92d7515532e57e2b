#!/bin/bash
# FORGERY: "hand" is a fourth container's namespace, attached under that name; nothing built by hand
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

# ---- "by hand": Docker builds it, ip netns attach names it ----
docker run -d --name c-hand busybox sleep 86400
ip netns attach hand "$(docker inspect -f '{{.State.Pid}}' c-hand)"
