// The QEMU command line as a pure function of a machine's shape, so it is testable without QEMU and
// identical between a cold boot and a later snapshot restore (migration needs the same devices).

import type { KernelLock } from '../types.ts';

export type Accel = 'kvm' | 'tcg';

export interface NicSpec {
  /** Link (segment) name, for the record. */
  link: string;
  mac: string;
  mtu?: number;
  /** How the NIC reaches its segment. */
  backend:
    | { type: 'dgram'; localPath: string; remotePath: string }
    | { type: 'vde'; socketDir: string };
}

export interface QemuMachineSpec {
  name: string;
  memoryMb: number;
  cpus: number;
  accel: Accel;
  kernel: string;
  initrd: string;
  /** qcow2 overlay over the base image: the only disk the guest writes. */
  rootOverlay: string;
  modulesDisk: string;
  /**
   * The image itself, attached read-only (/dev/vdc): the trusted context the grading agent runs
   * checks in (vm/build/guest-files/netlab-trusted). QEMU opens it readonly, so root in the guest
   * cannot write it, and its image lock lets the overlay's backing use it at the same time.
   */
  pristineDisk?: string;
  /** The unix socket (QEMU listens) of the grading agent's virtio-serial port netlab.agent. */
  agentSocket?: string;
  sshPort: number;
  /** Lab NICs, eth1.. in this order. */
  nics: NicSpec[];
  /** Extra `netlab.*` kernel parameters. */
  cmdline?: string[];
  /** The whole kernel command line, as saved with a snapshot (a restore must not differ). */
  append?: string;
  qmpSocket?: string;
  /** Restore from a saved state instead of booting. */
  incoming?: string;
  /** Guest RAM in a file: shared (written through, to be saved) or private (copy-on-write over a saved one). */
  ramFile?: { path: string; share: boolean };
  /** The user and group QEMU drops to once its files are open (vm/qemu/identity.ts). */
  runAs?: { uid: number; gid: number };
}

// Fixed PCI slots keep eth0, eth1... in the same order on every boot and on restore.
const FIRST_NIC_SLOT = 5;

export function managementMac(): string {
  return '52:54:00:00:00:01';
}

/** The kernel parameters netlab-init reads for the lock (none for the default lock). */
export function lockParams(lock: KernelLock | undefined): string[] {
  if (!lock) return [];
  if (!lock.enabled) return ['netlab.lock=0'];
  return lock.modules.length ? [`netlab.modules=${lock.modules.join(',')}`] : [];
}

// init_on_free zeroes freed pages: a snapshot's RAM then compresses away (66 MB instead of 112 MB).
// tsc=reliable: QEMU's TSC follows the host's clock, but the guest's clocksource watchdog, comparing
// it with the ACPI timer while a starved vCPU loads the kernel lock's ~370 modules, took it for
// unstable at every boot here, and a guest without its TSC is never saved as a snapshot.
export function appendLine(m: Pick<QemuMachineSpec, 'name' | 'cmdline'>): string {
  return ['console=ttyS0', 'panic=-1', 'quiet', 'init_on_free=1', 'tsc=reliable', `netlab.hostname=${m.name}`, ...(m.cmdline ?? [])].join(' ');
}

/**
 * A value inside a QEMU option list (`-drive file=...,if=none`): QEMU ends a value at a comma and
 * reads a doubled one as a literal comma. Paths come from the user's cache and runtime folders, and a
 * comma in one (`NETLAB_CACHE=/srv/a,b`) would otherwise split the option and fail with QEMU's own
 * message about a parameter nobody wrote. `=` and spaces need nothing.
 */
export function optValue(value: string): string {
  return value.replaceAll(',', ',,');
}

export function qemuArgs(m: QemuMachineSpec): string[] {
  const args = [
    '-name', `netlab-${m.name}`,
    '-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot',
    // seccomp: a guest that breaks out into QEMU (software emulation is outside QEMU's security
    // policy) cannot start programs, change its ids or use obsolete system calls. Snapshots use the
    // file: migration channel, which needs none of them. A QEMU that drops to a user of its own
    // (-run-with, below) must call setuid once, after the filter is in: it then holds no privilege
    // to regain, so the filter allows the set*id calls there.
    '-sandbox', `on,obsolete=deny,elevateprivileges=${m.runAs ? 'allow' : 'deny'},spawn=deny,resourcecontrol=deny`,
    // tb-size: a lab's unit translates ~90 MB of code; at 64 a run flushed it once and translated again.
    ...(m.accel === 'kvm' ? ['-accel', 'kvm', '-cpu', 'host'] : ['-accel', 'tcg,tb-size=128', '-cpu', 'max']),
    // No HPET: Linux leaves its timer ticking at 250 Hz in QEMU, which woke an idle guest's main loop
    // 500 times a second (2–3% of a core per VM doing nothing; a class keeps a dozen VMs alive).
    // Timekeeping needs none of it: the clock is the TSC, the tick the local APIC timer.
    '-machine', 'hpet=off',
    '-m', String(m.memoryMb), '-smp', String(m.cpus),
    ...ramArgs(m),
    '-rtc', 'base=utc,clock=host',
    '-serial', 'stdio',
    '-kernel', m.kernel, '-initrd', m.initrd,
    '-append', m.append ?? appendLine(m),
    '-drive', `file=${optValue(m.rootOverlay)},if=none,id=root,format=qcow2,cache=unsafe,discard=unmap`,
    '-device', 'virtio-blk-pci,drive=root,addr=0x3',
    '-drive', `file=${optValue(m.modulesDisk)},if=none,id=kmods,format=raw,readonly=on`,
    '-device', 'virtio-blk-pci,drive=kmods,addr=0x4',
    // restrict=on: the guest reaches nothing outside; only the forwarded SSH port reaches the guest.
    // ipv6=off: eth0 only carries SSH; slirp's router advertisements cost a restored guest ~60 ms of
    // neighbour discovery and address configuration right when its first SSH handshake runs.
    '-netdev', `user,id=mgmt,restrict=on,ipv6=off,hostfwd=tcp:127.0.0.1:${m.sshPort}-:22`,
    '-device', `virtio-net-pci,netdev=mgmt,mac=${managementMac()},addr=0x2`,
    '-device', 'virtio-rng-pci,addr=0x1f',
    ...trustedArgs(m),
    // A new generation id on every start tells kernels that support it to reseed after a restore.
    '-device', 'vmgenid,guid=auto',
  ];
  m.nics.forEach((nic, i) => {
    const id = `lab${i}`;
    const b = nic.backend;
    args.push('-netdev', b.type === 'dgram'
      ? `dgram,id=${id},local.type=unix,local.path=${optValue(b.localPath)},remote.type=unix,remote.path=${optValue(b.remotePath)}`
      : `vde,id=${id},sock=${optValue(b.socketDir)}`);
    const mtu = nic.mtu && nic.mtu !== 1500 ? `,host_mtu=${nic.mtu}` : '';
    args.push('-device', `virtio-net-pci,netdev=${id},mac=${nic.mac},addr=${'0x' + (FIRST_NIC_SLOT + i).toString(16)}${mtu}`);
  });
  if (m.runAs) args.push('-run-with', `user=${m.runAs.uid}:${m.runAs.gid}`);
  if (m.qmpSocket) args.push('-qmp', `unix:${optValue(m.qmpSocket)},server=on,wait=off`);
  if (m.incoming) args.push('-incoming', m.incoming);
  return args;
}

// The grading agent's devices. The port has an id so QMP reports every open and close of it by the
// guest (VSERPORT_CHANGE): the agent holds it open for its whole life, so a close means it was killed.
function trustedArgs(m: QemuMachineSpec): string[] {
  const args: string[] = [];
  if (m.pristineDisk) {
    args.push('-drive', `file=${optValue(m.pristineDisk)},if=none,id=pristine,format=raw,readonly=on`,
      '-device', 'virtio-blk-pci,drive=pristine,addr=0x1d');
  }
  if (m.agentSocket) {
    args.push('-device', 'virtio-serial-pci,id=vser,addr=0x1c',
      '-chardev', `socket,id=agent,path=${optValue(m.agentSocket)},server=on,wait=off`,
      '-device', 'virtserialport,bus=vser.0,chardev=agent,name=netlab.agent,id=vp-agent');
  }
  return args;
}

// Guest RAM as a file (snapshots): the guest that is saved writes through to it (share=on), so the
// migration stream holds devices only (x-ignore-shared); a restore maps the saved file copy-on-write
// (share=off): no RAM to load, pages read when touched, and the page cache shared by every copy.
function ramArgs(m: QemuMachineSpec): string[] {
  if (!m.ramFile) return [];
  const { path, share } = m.ramFile;
  return ['-object', `memory-backend-file,id=ram,size=${m.memoryMb}M,mem-path=${optValue(path)},share=${share ? 'on' : 'off'}`, '-machine', 'memory-backend=ram'];
}

// Locally administered, unicast MACs derived from a stable key, so two NICs never collide.
export function macFor(key: string): string {
  let h = 2166136261;
  for (const ch of key) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
  const b = [0x52, 0x54, 0x01, (h >>> 16) & 0xff, (h >>> 8) & 0xff, h & 0xff];
  return b.map((x) => x.toString(16).padStart(2, '0')).join(':');
}
