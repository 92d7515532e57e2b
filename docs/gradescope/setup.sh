#!/usr/bin/env bash
# Gradescope runs this once, as root with network access, when it builds the autograder image
# (Ubuntu). It installs netlab-run's host tools and Node.js, then grades the lab's reference solution
# once: that builds the VM image and fetches the kernel into the image's cache, and saves the boot
# snapshot, so each student's run restores a VM in about 1.5 s instead of building anything.
# See docs/gradescope.md.
set -euo pipefail
SRC=/autograder/source
export DEBIAN_FRONTEND=noninteractive

apt-get update -qq
apt-get install -y -qq --no-install-recommends \
  qemu-system-x86 qemu-utils mmdebstrap debian-archive-keyring busybox-static kmod tcpdump cpio \
  e2fsprogs openssh-client util-linux zstd xz-utils ca-certificates curl gnupg

# Node.js >= 20.5: Ubuntu's own package is older; NodeSource's repository has current releases.
if ! node -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)' 2>/dev/null; then
  curl -fsSL https://deb.nodesource.com/setup_20.x | bash -
  apt-get install -y -qq nodejs
fi

cd "$SRC/netlab-run"
npm ci --no-audit --no-fund --loglevel=error
chmod +x "$SRC/run_autograder" 2>/dev/null || true

# Warm the caches (image, kernel, snapshot) with the reference solution; its grade is not used.
node bin/netlab-run.mjs "$SRC/lab" --out /tmp/netlab-warmup || true
rm -rf /tmp/netlab-warmup
