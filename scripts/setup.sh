#!/usr/bin/env bash
# Installs what netlab-run needs on a Debian host, and nothing more: Debian packages and the npm
# dependencies. Idempotent: when everything is there it calls no apt at all and says so in one line.
#
#   scripts/setup.sh            what running a lab needs (QEMU, mmdebstrap, tcpdump, ...)
#   scripts/setup.sh --vagrant  also the Vagrant backend (--backend vagrant): scripts/setup-vagrant.sh
#   scripts/setup.sh --test     everything the test suite needs (Chromium, shellcheck, sshd, Vagrant)
#
# The VM image and kernels are built on first use by netlab-run itself (cached in ~/.cache/netlab-run).
# Which packages are installed is asked of dpkg, where apt's sources live of apt-config, so a test can
# run this script against a pretend machine by putting its own dpkg-query, apt-config and apt-get first
# on PATH (test/unit/setup-script.test.ts).
set -euo pipefail
cd "$(dirname "$0")/.."

with_vagrant=
with_test=
for arg in "$@"; do
  case "$arg" in
    --vagrant) with_vagrant=1 ;;
    --test) with_test=1; with_vagrant=1 ;;
    -h|--help) sed -n '2,8s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "setup: unknown option $arg (try --help)" >&2; exit 2 ;;
  esac
done

# What `netlab-run labs/bridge` needs on the host (vm/build/host-tools.ts names the same tools).
lab_pkgs=(qemu-system-x86 qemu-utils mmdebstrap debian-archive-keyring busybox-static kmod tcpdump vde2
  cpio e2fsprogs openssh-client util-linux zstd xz-utils)
# What the test suite needs besides: the report's screenshot test, JUnit's schema check, the SSH
# client's tests against a real sshd, and the shell-script lint.
test_pkgs=(chromium libxml2-utils openssh-server shellcheck)

pkgs=("${lab_pkgs[@]}")
[ -z "$with_test" ] || pkgs+=("${test_pkgs[@]}")

if [ "$(id -u)" != 0 ]; then SUDO=sudo; else SUDO=; fi
apt_updated=
apt_install() { # [apt-get options...] packages...
  [ -n "$apt_updated" ] || { $SUDO apt-get update -qq; apt_updated=1; }
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
# The packages of $@ that dpkg does not report installed.
not_installed() {
  local installed
  installed=$(dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' "$@" 2>/dev/null | sed -n 's/^ii *//p' || true)
  local p
  for p in "$@"; do grep -qxF "$p" <<<"$installed" || echo "$p"; done
}

did=()
# QEMU from bookworm-backports on Debian 12: bookworm's QEMU 7.2 runs a guest's programs ~3.5× slower
# under software emulation (TCG) than the QEMU 10.0 Debian builds for bookworm-backports (measured:
# 50 runs of /bin/true 1.17 → 0.33 s; the bridge lab 13 → 9.5 s). Debian's own packages and mirror.
# No QEMU at all is the common case on a fresh machine: `|| true`, or set -e ends the script here.
qemu_major=$({ qemu-system-x86_64 --version 2>/dev/null || true; } | sed -n 's/^QEMU emulator version \([0-9]*\).*/\1/p')
# shellcheck source=/dev/null
codename=$(. "${NETLAB_OS_RELEASE:-/etc/os-release}" && echo "${VERSION_CODENAME:-}")
if [ "$codename" = bookworm ] && [ "${qemu_major:-0}" -lt 10 ]; then
  eval "$(apt-config shell SOURCELIST Dir::Etc::sourcelist/f SOURCEPARTS Dir::Etc::sourceparts/d)"
  list="${SOURCEPARTS%/}/netlab-bookworm-backports.sources"
  if ! grep -rqs '^[^#]*bookworm-backports' "$SOURCELIST" "$SOURCEPARTS"; then
    echo "setup: adding Debian's bookworm-backports suite ($list)"
    printf '%s\n' 'Types: deb' 'URIs: http://deb.debian.org/debian' 'Suites: bookworm-backports' 'Components: main' \
      'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg' | $SUDO tee "$list" >/dev/null
  fi
  echo "setup: installing QEMU 10 from bookworm-backports (installed: ${qemu_major:-none})"
  apt_install -t bookworm-backports qemu-system-x86 qemu-utils
  did+=("QEMU 10 from bookworm-backports")
fi

mapfile -t missing < <(not_installed "${pkgs[@]}")
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  apt_install "${missing[@]}"
  did+=("${#missing[@]} Debian packages")
fi

# Installed as a dependency (<course>/node_modules/netlab-run): the course's own npm install brought the
# npm packages, and nothing is written into node_modules.
if [[ "$PWD/" == */node_modules/* ]]; then
  :
elif [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm packages"
  npm ci --no-audit --no-fund --loglevel=error
  did+=("npm packages")
fi

if [ -n "$with_vagrant" ]; then
  # Installed and configured only; netlab-run starts libvirtd when a run needs it and stops it after.
  $SUDO bash scripts/setup-vagrant.sh --no-start
fi

if [ ${#did[@]} -eq 0 ]; then
  echo "setup: everything is installed already (${#pkgs[@]} Debian packages, npm packages${with_vagrant:+, Vagrant})"
else
  echo "setup: done: installed $(IFS=,; echo "${did[*]}" | sed 's/,/, /g')"
fi
