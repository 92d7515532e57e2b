#!/usr/bin/env bash
# Gradescope runs this once, as root with network access, when it builds the autograder image from
# its Ubuntu base image (22.04 or 24.04; a Debian host works the same). It installs netlab-run's host
# tools and Node.js, then grades the lab's reference solution once: that builds the VM image and
# fetches the kernel into the image's cache, and saves the boot snapshot, so each student's run
# restores a VM in about 1.5 s instead of building or downloading anything. See docs/gradescope.md.
#
# The VM image and kernel are Debian's: on Ubuntu, netlab-run finds no Debian source in apt and uses
# Debian's main mirror (deb.debian.org), checked with Debian's keyring (package debian-archive-keyring:
# Ubuntu's, or Debian's current one when Ubuntu's is too old, see debian-keyring.sh).
# NETLAB_MIRROR=http://<mirror>/debian sets another Debian mirror.
# Overridable for a dry run: AUTOGRADER_ROOT (default /autograder), NETLAB_OS_RELEASE (/etc/os-release).
set -euo pipefail
SRC=${AUTOGRADER_ROOT:-/autograder}/source
export DEBIAN_FRONTEND=noninteractive
# shellcheck source=/dev/null
os=$(. "${NETLAB_OS_RELEASE:-/etc/os-release}" && echo "${ID:-?} ${VERSION_ID:-?}")

apt-get update -qq
# The same host tools as scripts/setup.sh installs on Debian; all are in Ubuntu's main and universe.
apt-get install -y -qq --no-install-recommends \
  qemu-system-x86 qemu-utils mmdebstrap debian-archive-keyring busybox-static kmod tcpdump vde2 cpio \
  e2fsprogs openssh-client util-linux zstd xz-utils ca-certificates curl gnupg

# Ubuntu 22.04's debian-archive-keyring is too old to check Debian's bookworm: take Debian's current one.
# (Beside this script in a course repository's zip, made by `netlab-run init`'s gradescope/make-zip.sh.)
keyring=$SRC/debian-keyring.sh
[ -f "$keyring" ] || keyring=$SRC/netlab-run/docs/gradescope/debian-keyring.sh
bash "$keyring"

# Under software emulation (no KVM on Gradescope) QEMU's version sets the speed of everything the
# guests run: Debian's QEMU 10 runs them ~3.5x faster than QEMU 7.2 (docs/grading.md). Ubuntu 22.04
# has QEMU 6.2 (that generation or slower), Ubuntu 24.04 has 8.2 (not measured).
qemu=$(qemu-system-x86_64 --version | sed -n 's/^QEMU emulator version \([0-9.]*\).*/\1/p')
echo "setup.sh: $os, QEMU $qemu"
if [ "${qemu%%.*}" -lt 8 ]; then
  echo "setup.sh: QEMU $qemu is old and slow under software emulation: choose Gradescope's Ubuntu 24.04 base image (QEMU 8.2), and allow more time per submission (docs/gradescope.md)"
fi

# Node.js >= 20.5: Ubuntu's own package is older (22.04: 12, 24.04: 18). NodeSource's repository has
# current releases; its script and packages come from NodeSource's servers, not Ubuntu's or npm's
# (fine on Gradescope, whose build has an open network).
if ! node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 5) ? 0 : 1)' 2>/dev/null; then
  curl -fsSL https://deb.nodesource.com/setup_20.x | bash -
  apt-get install -y -qq nodejs
fi

# netlab-run: its own folder in the zip (netlab-run/), or in a course repository's zip (package.json
# and package-lock.json at the root, netlab-run a dependency: `netlab-run init`) the installed package.
if [ -d "$SRC/netlab-run" ]; then
  cd "$SRC/netlab-run"
  npm ci --no-audit --no-fund --loglevel=error
else
  cd "$SRC"
  npm ci --no-audit --no-fund --loglevel=error
  cd node_modules/netlab-run
fi
chmod +x "$SRC/run_autograder" 2>/dev/null || true

# Warm the caches (image, kernel, snapshot) with the reference solution; its grade is not used, but a
# grader that cannot run (2 lab error, 69 infrastructure) fails the build here rather than for every
# student later.
code=0
node bin/netlab-run.mjs "$SRC/lab" --out /tmp/netlab-warmup || code=$?
rm -rf /tmp/netlab-warmup
if [ "$code" -gt 1 ]; then
  echo "setup.sh: grading the lab's reference failed (netlab-run exit $code): see the lines above" >&2
  exit "$code"
fi
