#!/usr/bin/env bash
# Prepares a Debian (bookworm) host without systemd for the Vagrant backend: Vagrant with the
# vagrant-libvirt provider, libvirtd with its QEMU driver (TCG works; KVM is not needed) and
# dnsmasq for the DHCP of libvirt's isolated networks. Run as root. Idempotent: a second run only
# checks. Prints nothing unless it installs something or fails.
#
#   scripts/setup-vagrant.sh             install, configure, start virtlogd + libvirtd
#   scripts/setup-vagrant.sh --no-start  install and configure only: netlab-run --backend vagrant starts
#                                        the daemons when none runs and stops them after the run
#   scripts/setup-vagrant.sh --stop      stop the two daemons again (after destroying every VM)
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin"

if [ "$(id -u)" != 0 ]; then
  echo "setup-vagrant: run as root" >&2
  exit 1
fi

daemon_pid() { # name of the daemon -> its pid from its pid file, if it runs
  local f="/run/libvirt/$1.pid" pid
  [ -r "$f" ] || f="/var/run/$1.pid"
  [ -r "$f" ] || return 1
  pid=$(cat "$f" 2>/dev/null) # written without a newline
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

if [ "${1:-}" = --stop ]; then
  for d in libvirtd virtlogd; do
    if pid=$(daemon_pid "$d"); then
      kill -TERM "$pid"
      for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
  done
  exit 0
fi

# binary -> Debian package. iptables: libvirt 9 adds firewall rules for every network it starts,
# even an isolated one (DHCP/DNS accept rules), and cannot start a network without it.
declare -A need=(
  [vagrant]=vagrant [libvirtd]=libvirt-daemon [virtlogd]=libvirt-daemon [virsh]=libvirt-clients
  [dnsmasq]=dnsmasq-base [iptables]=iptables [qemu-system-x86_64]=qemu-system-x86 [qemu-img]=qemu-utils
)
missing=()
for bin in "${!need[@]}"; do
  command -v "$bin" >/dev/null 2>&1 || missing+=("${need[$bin]}")
done
ls -d /usr/share/rubygems-integration/all/gems/vagrant-libvirt-* >/dev/null 2>&1 || missing+=(vagrant-libvirt)
[ -e /usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_qemu.so ] || missing+=(libvirt-daemon-driver-qemu)
if [ ${#missing[@]} -gt 0 ]; then
  pkgs=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
  echo "setup-vagrant: installing Debian packages: $pkgs"
  log=$(mktemp)
  # shellcheck disable=SC2086
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $pkgs; } >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    echo "setup-vagrant: apt-get failed" >&2
    exit 1
  fi
  rm -f "$log"
fi

# libvirtd's QEMU driver refuses to load without its system user and group (normally made by
# libvirt-daemon-system, which needs systemd), and the QEMU processes run as that user (qemu.conf):
# libvirt's DAC driver hands each machine's disks, kernel and console file to it for the machine's
# life (dynamic_ownership; no xattrs to remember owners: the files are the run's own, under its
# folder, which netlab-run opens to that group).
getent group libvirt-qemu >/dev/null || groupadd --system libvirt-qemu
getent passwd libvirt-qemu >/dev/null \
  || useradd --system --gid libvirt-qemu --home-dir /var/lib/libvirt --no-create-home --shell /usr/sbin/nologin libvirt-qemu

mkdir -p /etc/libvirt /var/lib/libvirt/images /var/log/libvirt/qemu /run/libvirt
conf=/etc/libvirt/qemu.conf
want='# written by netlab-run scripts/setup-vagrant.sh: QEMU as libvirt-qemu under seccomp, DAC labelling only (no systemd, no AppArmor)
user = "libvirt-qemu"
group = "libvirt-qemu"
dynamic_ownership = 1
security_driver = "none"
remember_owner = 0
seccomp_sandbox = 1'
if [ ! -f "$conf" ] || [ "$(cat "$conf")" != "$want" ]; then
  printf '%s\n' "$want" > "$conf"
  # A running libvirtd reads qemu.conf only at start.
  if pid=$(daemon_pid libvirtd); then
    kill -TERM "$pid"
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
fi

[ "${1:-}" = --no-start ] && exit 0
daemon_pid virtlogd >/dev/null || virtlogd -d
daemon_pid libvirtd >/dev/null || libvirtd -d
for _ in $(seq 300); do
  virsh -c qemu:///system version >/dev/null 2>&1 && exit 0
  sleep 0.1
done
echo "setup-vagrant: libvirtd does not answer on qemu:///system after 30 s" >&2
virsh -c qemu:///system version >&2 || true
exit 1
