#!/bin/bash
# Reference solution: a namespace on a veth pair, lo up inside it.
set -euo pipefail

ip netns add blue
ip link add veth0 type veth peer name veth1
ip link set veth1 netns blue

ip addr add 10.0.0.1/24 dev veth0
ip link set veth0 up
ip -n blue addr add 10.0.0.2/24 dev veth1
ip -n blue link set veth1 up
ip -n blue link set lo up
