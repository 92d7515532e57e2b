#!/usr/bin/env bash
# Installs what netlab-run and its tests need on a Debian host: Debian packages (QEMU, mmdebstrap,
# tcpdump, ...) and the npm dependencies. Idempotent and quick when everything is there already.
# The VM image and kernels are built on first use by netlab-run itself (cached in ~/.cache/netlab-run).
set -euo pipefail
cd "$(dirname "$0")/.."

# binary -> Debian package
declare -A need=(
  [qemu-system-x86_64]=qemu-system-x86 [qemu-img]=qemu-utils [mmdebstrap]=mmdebstrap
  [busybox]=busybox-static [depmod]=kmod [tcpdump]=tcpdump [vde_switch]=vde2 [cpio]=cpio
  [mkfs.ext4]=e2fsprogs [debugfs]=e2fsprogs [ssh]=openssh-client [sshd]=openssh-server [setpriv]=util-linux
  [zstd]=zstd [xz]=xz-utils [chromium]=chromium [xmllint]=libxml2-utils
)
if [ "$(id -u)" != 0 ]; then SUDO=sudo; else SUDO=; fi
# QEMU from bookworm-backports on Debian 12: bookworm's QEMU 7.2 runs a guest's programs ~3.5× slower
# under software emulation (TCG) than the QEMU 10.0 Debian builds for bookworm-backports (measured:
# 50 runs of /bin/true 1.17 → 0.33 s; the bridge lab 13 → 9.5 s). Debian's own packages and mirror.
qemu_major=$(qemu-system-x86_64 --version 2>/dev/null | sed -n 's/^QEMU emulator version \([0-9]*\).*/\1/p')
updated=
if [ "$(. /etc/os-release && echo "${VERSION_CODENAME:-}")" = bookworm ] && [ "${qemu_major:-0}" -lt 10 ]; then
  list=/etc/apt/sources.list.d/netlab-bookworm-backports.sources
  if ! grep -rqs '^[^#]*bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    echo "setup: adding Debian's bookworm-backports suite ($list)"
    printf '%s\n' 'Types: deb' 'URIs: http://deb.debian.org/debian' 'Suites: bookworm-backports' 'Components: main' \
      'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg' | $SUDO tee "$list" >/dev/null
  fi
  echo "setup: installing QEMU 10 from bookworm-backports (installed: ${qemu_major:-none})"
  $SUDO apt-get update -qq
  updated=1
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends -t bookworm-backports qemu-system-x86 qemu-utils >/dev/null
fi

# The rest (QEMU is there by now on Debian 12).
missing=()
for bin in "${!need[@]}"; do
  PATH="$PATH:/usr/sbin:/sbin" command -v "$bin" >/dev/null 2>&1 || missing+=("${need[$bin]}")
done

if [ ${#missing[@]} -gt 0 ]; then
  pkgs=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
  echo "setup: installing Debian packages: $pkgs"
  [ -n "$updated" ] || $SUDO apt-get update -qq
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $pkgs >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm packages"
  npm ci --no-audit --no-fund --loglevel=error
fi

# The Vagrant backend (--backend vagrant) and its end-to-end test: Vagrant, vagrant-libvirt, libvirt.
# Installed and configured only; netlab-run starts libvirtd when a run needs it and stops it after.
$SUDO bash scripts/setup-vagrant.sh --no-start
