import { execa } from 'execa';
import pLimit from 'p-limit';
import { availableParallelism } from 'node:os';
import { rmSync } from 'node:fs';
import { chmod, copyFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ResultPromise } from 'execa';
import { BootStepError, InfraError } from '../errors.ts';
import { diskLimit, watchDisks } from './disk-watch.ts';
import { noEvents, type EventSink } from '../events.ts';
import { planLinks, startSwitch, type LinkDef } from './links.ts';
import { freePort } from './ports.ts';
import { appendLine, lockParams, type Accel, type NicSpec, type QemuMachineSpec } from './args.ts';
import { Qmp } from './qmp.ts';
import { NicCaptures } from './nic-capture.ts';
import { dropSnapshot, findSnapshot, loadSnapshotState, restoreFixupCommand, saveSnapshot, snapshotKey, snapshotsEnabled, type Snapshot } from './snapshot.ts';
import { QemuProcess } from './machine.ts';
import { qemuIdentity } from './identity.ts';
import { createRunDir, qemuWritableDir, reapStaleRuns, removeRunDir, runtimeRoot, type RunDir } from '../runtime.ts';
import { SshMachine } from '../ssh/client.ts';
import { bootStepsKey, runBootSteps } from '../boot-steps.ts';
import { AgentMachine } from '../agent/client.ts';
import { AGENT_PORT_CLOSED, type BootStep, type ImageInfo, type KernelInfo, type KernelLock, type MachineEndpoint, type NicCaptureResult } from '../types.ts';
import { setTimeout as sleep } from 'node:timers/promises';

export interface MachinePlan {
  name: string;
  memoryMb: number;
  cpus: number;
  kernel: KernelInfo;
  /** The kernel lock netlab-init applies before NETLAB-READY (default: locked, the usual modules). */
  lock?: KernelLock;
  /** An image of its own (a machine that needs more packages); default: the set's. */
  image?: ImageInfo;
  /** Commands run once after boot, before the snapshot is saved (lab.yaml machines.<m>.boot). */
  boot?: BootStep[];
}

export interface VmSetOptions {
  /** Names resources (run folder, QEMU -name): e.g. the lab's name. */
  label: string;
  image: ImageInfo;
  machines: MachinePlan[];
  links?: LinkDef[];
  accel: Accel;
  onEvent?: EventSink;
  signal?: AbortSignal;
  /** Per attempt; one retry follows a failed boot (about 1 boot in 45 never comes up here). */
  bootTimeoutMs?: number;
}

interface Booted { qemu: QemuProcess; ssh: SshMachine; endpoint: MachineEndpoint; nics: NicSpec[] }

const live = new Set<VmSet>();

// Last resort when the process exits without stopping its sets (an uncaught error, process.exit in a
// signal handler): kill synchronously, the only thing an 'exit' listener may do. A kill -9 of this
// process is covered by QEMU's parent-death signal and the next start's stale-run reaping.
process.on('exit', () => {
  for (const set of live) {
    for (const pid of set.qemuPids()) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
    set.killSwitchesSync();
    try { rmSync(set.runDir.path, { recursive: true, force: true }); } catch { /* best effort */ }
  }
});

// The machines of one lab run: booted together, linked, reachable over SSH, and torn down together.
export class VmSet {
  private stopped = false;
  private readonly limits = new Map<string, string>();
  private readonly tampering = new Map<string, string[]>();
  private readonly stoppedByHost = new Set<string>();
  private readonly watchers = new Map<string, Promise<Qmp | undefined>>();
  private readonly captures: NicCaptures;
  private readonly disks: { stop(): void };
  constructor(
    readonly runDir: RunDir,
    readonly accel: Accel,
    private readonly booted: Map<string, Booted>,
    private readonly switches: ResultPromise[],
    private readonly onEvent: EventSink,
  ) {
    live.add(this);
    const max = diskLimit();
    const overlays = new Map([...booted].map(([name, b]) => [name, b.qemu.spec.rootOverlay]));
    this.disks = watchDisks(overlays, max, (machine, bytes) => {
      const reason = `its disk took ${Math.round(bytes / 2 ** 20)} MiB on the host, over the limit of ${Math.round(max / 2 ** 20)} MiB (NETLAB_MAX_DISK): the machine was stopped`;
      this.limits.set(machine, reason);
      this.onEvent({ type: 'machine-limit', machine, reason });
      void this.killMachine(machine);
    });
    for (const [name, b] of booted) this.watchers.set(name, this.watchQmp(name, b.qemu.spec));
    this.captures = new NicCaptures(runDir, (machine) => this.watchers.get(machine) ?? Promise.resolve(undefined));
  }

  // One QMP connection per machine for the set's life: host-side captures of its NICs go through it,
  // and it watches the grading agent's port. The agent holds that port open from boot on (restores
  // included): once the set is up, QEMU reporting the guest closing it means the agent was killed,
  // and opening it again means another program took it (to answer in the agent's place). QMP tells
  // only a connected client.
  private async watchQmp(name: string, spec: QemuMachineSpec): Promise<Qmp | undefined> {
    if (!spec.qmpSocket) return undefined;
    const qmp = await Qmp.connect(spec.qmpSocket).catch(() => undefined);
    if (!qmp || !spec.agentSocket) return qmp;
    qmp.onEvent = (event, data) => {
      if (event !== 'VSERPORT_CHANGE' || data.id !== 'vp-agent') return;
      const reason = data.open ? 'another program opened the grading agent\'s port' : AGENT_PORT_CLOSED;
      const list = this.tampering.get(name) ?? [];
      if (!list.includes(reason)) this.tampering.set(name, [...list, reason]);
    };
    return qmp;
  }

  /** What the host saw done to a machine's grading agent (its port closed or taken over). */
  tamperReasons(name: string): string[] {
    // A guest that powers off stops its agent on the way down: that is a crash, graded as one. One the
    // host stopped (it no longer answered once its agent was gone) keeps what was seen.
    return this.isDown(name) && !this.stoppedByHost.has(name) ? [] : this.tampering.get(name) ?? [];
  }

  /** Starts recording lab NIC `nic` (0 is eth1) of a machine on the host side of its link, as capture `name`. */
  startNicCapture(machine: string, nic: number, name: string): Promise<void> { return this.captures.start(machine, nic, name); }
  /** Stops a host-side capture and says where its pcap is. */
  stopNicCapture(machine: string, name: string): Promise<NicCaptureResult> { return this.captures.stop(machine, name); }
  nicCaptureFile(machine: string, name: string): string { return this.captures.fileFor(machine, name); }

  /** Why the host stopped a machine (a limit it passed), if it did. */
  limitReason(name: string): string | undefined { return this.limits.get(name); }

  get names(): string[] { return [...this.booted.keys()]; }

  machine(name: string): SshMachine {
    const b = this.booted.get(name);
    if (!b) throw new Error(`no machine named ${name}`);
    return b.ssh;
  }

  endpoints(): MachineEndpoint[] { return [...this.booted.values()].map((b) => b.endpoint); }
  nics(name: string): NicSpec[] { return this.booted.get(name)?.nics ?? []; }
  qemuPids(): number[] { return [...this.booted.values()].flatMap((b) => (b.qemu.pid ? [b.qemu.pid] : [])); }
  consoleLog(name: string): string | undefined { return this.booted.get(name)?.qemu.consoleLog; }
  /** True when a machine's QEMU is gone (e.g. the guest powered itself off). */
  isDown(name: string): boolean { return this.booted.get(name)?.qemu.exited ?? true; }

  killSwitchesSync(): void { for (const sw of this.switches) sw.kill('SIGKILL'); }

  /** Stops one machine (e.g. one that stopped answering) and leaves the others running. */
  async killMachine(name: string): Promise<void> {
    const b = this.booted.get(name);
    if (!b) return;
    this.stoppedByHost.add(name);
    await b.ssh.close().catch(() => {});
    await b.qemu.kill().catch(() => {});
  }

  /** Every QEMU, switch, socket and overlay of this set is gone when this resolves. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    live.delete(this);
    this.disks.stop();
    this.captures.close();
    for (const w of this.watchers.values()) void w.then((q) => q?.close());
    // Each teardown in its own catch, so one failure does not leak the rest.
    await Promise.all([...this.booted.values()].map(async (b) => {
      await b.ssh.close().catch(() => {});
      await b.qemu.kill().catch(() => {});
      this.onEvent({ type: 'machine-stop', machine: b.qemu.spec.name });
    }));
    for (const sw of this.switches) { sw.kill('SIGKILL'); await sw.catch(() => {}); }
    await removeRunDir(this.runDir).catch(() => {});
  }
}

/** Stop every VM set still running in this process (signal handlers, crash paths). */
export async function stopAllVmSets(): Promise<void> {
  await Promise.all([...live].map((s) => s.stop().catch(() => {})));
}

export async function startVmSet(opts: VmSetOptions): Promise<VmSet> {
  const emit = opts.onEvent ?? noEvents;
  const reaped = await reapStaleRuns();
  if (reaped.length) emit({ type: 'cleanup', message: `removed ${reaped.length} stale run(s) left by a killed netlab-run: ${reaped.join(', ')}` });
  const runDir = await createRunDir(opts.label, await qemuIdentity(process.env, runtimeRoot()));
  const plan = planLinks(opts.links ?? [], runDir.path, `${opts.label}/${runDir.id}`);
  const switches: ResultPromise[] = [];
  const booted = new Map<string, Booted>();
  try {
    for (const sw of plan.switches) switches.push((await startSwitch(sw, runDir)).process);
    const results = await Promise.allSettled(opts.machines.map(async (m) => {
      booted.set(m.name, await bootWithRetry(m, plan.nics.get(m.name) ?? [], opts, runDir, emit));
    }));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    return new VmSet(runDir, opts.accel, booted, switches, emit);
  } catch (err) {
    await new VmSet(runDir, opts.accel, booted, switches, emit).stop();
    throw err;
  }
}

async function bootWithRetry(m: MachinePlan, nics: NicSpec[], opts: VmSetOptions, runDir: RunDir, emit: EventSink): Promise<Booted> {
  const attempts = 2;
  for (let attempt = 1; ; attempt++) {
    try {
      return await bootOnce(m, nics, opts, runDir, emit, attempt);
    } catch (err) {
      if (attempt >= attempts || opts.signal?.aborted || err instanceof BootStepError) throw err;
      emit({ type: 'boot-retry', machine: m.name, reason: err instanceof Error ? err.message : String(err) });
    }
  }
}

async function bootOnce(m: MachinePlan, nics: NicSpec[], opts: VmSetOptions, runDir: RunDir, emit: EventSink, attempt: number): Promise<Booted> {
  const snapKey = snapshotsEnabled()
    ? await snapshotKey({ image: imageOf(m, opts), kernel: m.kernel, memoryMb: m.memoryMb, cpus: m.cpus, accel: opts.accel, nics, lock: lockParams(m.lock), boot: bootStepsKey(m.boot) })
    : undefined;
  // A machine whose boot steps failed once fails the same way for every unit of its shape: said at once.
  const failed = snapKey ? failedBoots.get(snapKey) : undefined;
  if (failed) throw failed;
  const snap = snapKey ? await findSnapshot(snapKey) : undefined;
  if (snap && snapKey) {
    try {
      return await restoreOnce(m, nics, snap, opts, runDir, emit);
    } catch (err) {
      // A snapshot that does not restore is useless: drop it and boot cold (which saves a new one).
      await dropSnapshot(snapKey);
      emit({ type: 'snapshot', machine: m.name, phase: 'dropped', ms: 0, message: (err as Error).message.split('\n')[0] });
    }
  }
  // One save per machine shape at a time, and the copies that start meanwhile wait for it and
  // restore: a cold boot (which locks the kernel after loading ~370 modules) costs 10-15 s of CPU,
  // and a class's first units all booting cold at once on 2 cores took over 90 s each.
  if (!snapKey) return coldBootQueued(m, nics, opts, runDir, emit, attempt, undefined);
  const inFlight = saving.get(snapKey);
  if (inFlight) {
    const err = await inFlight.then(() => undefined, (e: unknown) => e);
    if (err instanceof BootStepError) throw err;
    const saved = await findSnapshot(snapKey);
    if (saved) return restoreOnce(m, nics, saved, opts, runDir, emit);
    return coldBootQueued(m, nics, opts, runDir, emit, attempt, undefined);
  }
  const boot = coldBootQueued(m, nics, opts, runDir, emit, attempt, snapKey);
  saving.set(snapKey, boot);
  try {
    return await boot;
  } catch (err) {
    if (err instanceof BootStepError) failedBoots.set(snapKey, err);
    throw err;
  } finally {
    saving.delete(snapKey);
  }
}

/** Snapshot keys being saved by a cold boot of this process. */
const saving = new Map<string, Promise<Booted>>();
/** Snapshot keys whose boot steps failed in this process. */
const failedBoots = new Map<string, BootStepError>();

// A cold boot keeps a core busy until the guest is ready (the kernel lock loads ~370 modules): three
// at once beside two grading units on 2 emulated cores each passed the 90 s boot limit, twice, where
// one alone took 48 s. Boots beyond the cores less one wait their turn, and their limit starts then.
export const COLD_BOOTS_AT_ONCE = Math.max(1, availableParallelism() - 1);
const coldBoots = pLimit(COLD_BOOTS_AT_ONCE);
const coldBootQueued = (...args: Parameters<typeof coldBootNow>): Promise<Booted> => coldBoots(() => {
  // A run stopped while this boot waited its turn starts no QEMU.
  if (args[2].signal?.aborted) throw new InfraError(`${args[0].name}: boot stopped (the run was interrupted)`);
  return coldBootNow(...args);
});

async function createOverlay(runDir: RunDir, name: string, backing: string, format: 'raw' | 'qcow2'): Promise<string> {
  const overlay = join(runDir.path, `${name}.qcow2`);
  await rm(overlay, { force: true });
  // A fresh overlay per start: what lies below it is only ever read.
  const img = await execa('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', format, '-b', backing, overlay], { reject: false });
  if (img.exitCode !== 0) throw new InfraError(`qemu-img could not create the overlay for ${name}: ${img.stderr}`, { fix: 'apt-get install -y qemu-utils' });
  await openToSet(runDir, overlay);
  return overlay;
}

// A QEMU that dropped to the set's group opens its overlay again by name after a migration (a
// snapshot's save, a restore): the file must be its group's to write. The run folder gives the group.
async function openToSet(runDir: RunDir, file: string, mode = 0o660): Promise<void> {
  if (runDir.identity) await chmod(file, mode);
}

/** The image a machine boots: its own (more packages), else the set's. */
const imageOf = (m: MachinePlan, opts: VmSetOptions): ImageInfo => m.image ?? opts.image;

function endpointFor(m: MachinePlan, opts: VmSetOptions, sshPort: number, runDir: RunDir): MachineEndpoint {
  return {
    name: m.name, host: '127.0.0.1', port: sshPort, user: 'root',
    privateKeyPath: imageOf(m, opts).sshKey, hostPublicKey: imageOf(m, opts).hostPublicKey, kernelVersion: m.kernel.version,
    agentSocket: agentSocketOf(runDir, m.name),
  };
}

// Where the host reaches a machine's grading agent: QEMU's end of its virtio-serial port.
function agentSocketOf(runDir: RunDir, name: string): string {
  return join(runDir.path, `${name}.agent`);
}

function specFor(m: MachinePlan, nics: NicSpec[], opts: VmSetOptions, overlay: string, sshPort: number, runDir: RunDir): QemuMachineSpec {
  return {
    name: m.name, memoryMb: m.memoryMb, cpus: m.cpus, accel: opts.accel,
    kernel: m.kernel.kernel, initrd: m.kernel.initrd, modulesDisk: m.kernel.modulesDisk,
    rootOverlay: overlay, sshPort, nics, qmpSocket: join(runDir.path, `${m.name}.qmp`),
    pristineDisk: imageOf(m, opts).rootfs, agentSocket: agentSocketOf(runDir, m.name), cmdline: lockParams(m.lock),
    ...(runDir.identity ? { runAs: runDir.identity } : {}),
  };
}

// Every copy of a snapshot inherits its guest's clock: one whose kernel dropped the TSC (its
// clocksource watchdog does when the host starves the vCPU during boot) would make every later restore
// keep time with the slow ACPI timer. Builtins only: exit 3 when the TSC is no longer available.
const TSC_STABLE = 'read -r cs < /sys/devices/system/clocksource/clocksource0/available_clocksource; [[ " $cs " == *" tsc "* ]] || exit 3';

// Before a save, the guest does once what every restore does first (an SSH session, the fix-up, a
// command) and syncs: the files, caches and first-use kernel work that path needs are then in the
// snapshot, and not redone (disk reads, ext4 writeback) by every copy. The session is closed again:
// connections do not survive a restore.
async function warmBeforeSave(m: MachinePlan, nics: NicSpec[], endpoint: MachineEndpoint, signal?: AbortSignal): Promise<void> {
  const ssh = await SshMachine.connect(endpoint, { timeoutMs: 30_000, signal });
  try {
    const r = await ssh.exec(`${restoreFixupCommand(m.name, nics)} && true && sync && { ${TSC_STABLE}; }`, { timeout: 30_000, killInGuest: false });
    if (r.exitCode === 3) throw new Error('the guest marked its TSC unstable (the host was overloaded while it booted): a copy of it would keep a slow clock, so it is not saved');
    if (r.exitCode !== 0) throw new Error(`the warm-up before the save failed: ${r.stderr.trim()}`);
  } finally {
    await ssh.close();
  }
  if (endpoint.agentSocket) await warmTrustedContext(m.name, endpoint.agentSocket);
  // The server's process for that connection ends just after it does; the snapshot must not hold it.
  await sleep(200);
}

// The boot steps' session is closed before a save, like the warm-up's: connections do not survive.
async function bootStepsOn(m: MachinePlan, endpoint: MachineEndpoint, emit: EventSink, signal?: AbortSignal): Promise<void> {
  const ssh = await SshMachine.connect(endpoint, { timeoutMs: 30_000, signal });
  try {
    await runBootSteps(m.name, ssh, m.boot ?? [], emit, signal);
  } finally {
    await ssh.close();
  }
}

/**
 * What every unit's grading reads first goes into the snapshot's page cache: the pristine disk's
 * system folders (the tamper scan lists them against the guest's own) and the programs checks run.
 * A restored copy otherwise reads them from its virtual disk, each unit again (a cold scan took
 * 517 ms against 231 ms, a first `ip link` 247 ms against 77 ms, before several units share a core).
 */
async function warmTrustedContext(name: string, socket: string): Promise<void> {
  const agent = await AgentMachine.connect(name, socket, { timeoutMs: 30_000 });
  try {
    await agent.scan();
    await agent.exec(WARM_PROGRAMS.map((c) => `${c} >/dev/null 2>&1`).join('; ') + '; true', { timeout: 60_000 });
  } finally {
    await agent.close();
  }
}

const WARM_PROGRAMS = ['ip link', 'ip netns list', 'bridge link', 'ping -V', 'tcpdump --version', 'ss -Hl', 'curl --version',
  'iptables -V', 'nft --version', 'busybox true', 'python3 -c 1'];

async function coldBootNow(m: MachinePlan, nics: NicSpec[], opts: VmSetOptions, runDir: RunDir, emit: EventSink, attempt: number, snapKey: string | undefined): Promise<Booted> {
  const started = Date.now();
  emit({ type: 'boot-start', machine: m.name, attempt });
  const overlay = await createOverlay(runDir, m.name, imageOf(m, opts).rootfs, 'raw');
  const sshPort = await freePort();
  const ramFile = snapKey ? join(runDir.path, `${m.name}.ram`) : undefined;
  const spec = { ...specFor(m, nics, opts, overlay, sshPort, runDir), ...(ramFile ? { ramFile: { path: ramFile, share: true } } : {}) };
  const qemu = new QemuProcess(spec, runDir, emit);
  try {
    await qemu.start();
    await qemu.waitReady(opts.bootTimeoutMs ?? (opts.accel === 'kvm' ? 30_000 : 90_000), opts.signal);
    if (m.boot?.length) await bootStepsOn(m, endpointFor(m, opts, sshPort, runDir), emit, opts.signal);
    if (snapKey && ramFile) {
      // Once eth0 is up in every respect (netlab-init's NETLAB-LINK-UP), or its copies show it down.
      const linkUp = await qemu.waitLinkUp(3000);
      const t = Date.now();
      const qmp = await Qmp.connect(spec.qmpSocket!);
      try {
        if (!linkUp) throw new Error('eth0 operstate not up 3 s after ready');
        await warmBeforeSave(m, nics, endpointFor(m, opts, sshPort, runDir), opts.signal);
        // A QEMU that dropped its privileges writes the state where it may; the save copies it over.
        const staging = runDir.identity ? await qemuWritableDir(runDir, `${m.name}.save-${attempt}`) : undefined;
        await saveSnapshot(snapKey, qmp, overlay, ramFile, [appendLine(spec)], staging);
        emit({ type: 'snapshot', machine: m.name, phase: 'saved', ms: Date.now() - t });
      } catch (err) {
        emit({ type: 'snapshot', machine: m.name, phase: 'dropped', ms: Date.now() - t, message: (err as Error).message });
      } finally {
        qmp.close();
      }
    }
    const endpoint = endpointFor(m, opts, sshPort, runDir);
    const ssh = await SshMachine.connect(endpoint, { timeoutMs: 30_000, signal: opts.signal });
    emit({ type: 'boot-ready', machine: m.name, ms: Date.now() - started });
    return { qemu, ssh, endpoint, nics };
  } catch (err) {
    await qemu.kill();
    throw err;
  }
}

async function restoreOnce(m: MachinePlan, nics: NicSpec[], snap: Snapshot, opts: VmSetOptions, runDir: RunDir, emit: EventSink): Promise<Booted> {
  const started = Date.now();
  const overlay = join(runDir.path, `${m.name}.qcow2`);
  await copyFile(snap.overlay, overlay);
  await openToSet(runDir, overlay);
  const sshPort = await freePort();
  const spec = {
    ...specFor(m, nics, opts, overlay, sshPort, runDir),
    append: snap.cmdline[0], incoming: 'defer', ramFile: { path: snap.ram, share: false },
  };
  const qemu = new QemuProcess(spec, runDir, emit);
  try {
    await qemu.start();
    const qmp = await Qmp.connect(spec.qmpSocket!);
    try {
      // A QEMU that dropped its privileges reads the state from its run folder (0.8 MB, ~1 ms to copy).
      let state = snap.state;
      if (runDir.identity) {
        await copyFile(snap.state, (state = join(runDir.path, `${m.name}.state`)));
        await openToSet(runDir, state, 0o640); // the copy keeps the saved file's 0600
      }
      await loadSnapshotState(qmp, { ...snap, state });
      // The state loads while the status says "inmigrate"; it was saved stopped, so resume it.
      const st = await qmp.until<{ status: string }>('query-status', (s) => s.status !== 'inmigrate', 30_000, `${m.name} to load its snapshot`);
      if (st.status !== 'running') await qmp.execute('cont');
    } finally {
      qmp.close();
    }
    const endpoint = endpointFor(m, opts, sshPort, runDir);
    const ssh = await SshMachine.connect(endpoint, { timeoutMs: 15_000, signal: opts.signal });
    // A fix-up that hangs fails the restore, which stops the VM: no kill session, no wait for it.
    const fix = await ssh.exec(restoreFixupCommand(m.name, nics), { timeout: 15_000, killInGuest: false });
    if (fix.exitCode !== 0) throw new InfraError(`${m.name}: could not set up the restored guest: ${fix.stderr.trim()}`);
    emit({ type: 'snapshot', machine: m.name, phase: 'restored', ms: Date.now() - started });
    emit({ type: 'boot-ready', machine: m.name, ms: Date.now() - started });
    return { qemu, ssh, endpoint, nics };
  } catch (err) {
    await qemu.kill();
    throw err;
  }
}
