import { execa } from 'execa';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ResultPromise } from 'execa';
import { InfraError } from './errors.ts';
import { noEvents, type EventSink } from './events.ts';
import { planLinks, startSwitch, type LinkDef } from './links.ts';
import { freePort } from './ports.ts';
import type { Accel, NicSpec } from './qemu-args.ts';
import { QemuProcess } from './qemu.ts';
import { createRunDir, reapStaleRuns, removeRunDir, type RunDir } from './runtime.ts';
import { SshMachine } from './ssh.ts';
import type { ImageInfo, KernelInfo, MachineEndpoint } from './types.ts';

export interface MachinePlan {
  name: string;
  memoryMb: number;
  cpus: number;
  kernel: KernelInfo;
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
  constructor(
    readonly runDir: RunDir,
    readonly accel: Accel,
    private readonly booted: Map<string, Booted>,
    private readonly switches: ResultPromise[],
    private readonly onEvent: EventSink,
  ) { live.add(this); }

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

  /** Every QEMU, switch, socket and overlay of this set is gone when this resolves. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    live.delete(this);
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
  const runDir = await createRunDir(opts.label);
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
      if (attempt >= attempts || opts.signal?.aborted) throw err;
      emit({ type: 'boot-retry', machine: m.name, reason: err instanceof Error ? err.message : String(err) });
    }
  }
}

async function bootOnce(m: MachinePlan, nics: NicSpec[], opts: VmSetOptions, runDir: RunDir, emit: EventSink, attempt: number): Promise<Booted> {
  const started = Date.now();
  emit({ type: 'boot-start', machine: m.name, attempt });
  const overlay = join(runDir.path, `${m.name}.qcow2`);
  // A fresh overlay per attempt: the base image is only ever read.
  const img = await execa('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', opts.image.rootfs, overlay], { reject: false });
  if (img.exitCode !== 0) throw new InfraError(`qemu-img could not create the overlay for ${m.name}: ${img.stderr}`, { fix: 'apt-get install -y qemu-utils' });
  const sshPort = await freePort();
  const qemu = new QemuProcess({
    name: m.name, memoryMb: m.memoryMb, cpus: m.cpus, accel: opts.accel,
    kernel: m.kernel.kernel, initrd: m.kernel.initrd, modulesDisk: m.kernel.modulesDisk,
    rootOverlay: overlay, sshPort, nics,
  }, runDir, emit);
  try {
    await qemu.start();
    await qemu.waitReady(opts.bootTimeoutMs ?? (opts.accel === 'kvm' ? 30_000 : 90_000), opts.signal);
    const endpoint: MachineEndpoint = {
      name: m.name, host: '127.0.0.1', port: sshPort, user: 'root',
      privateKeyPath: opts.image.sshKey, hostPublicKey: opts.image.hostPublicKey, kernelVersion: m.kernel.version,
    };
    const ssh = await SshMachine.connect(endpoint, { timeoutMs: 30_000, signal: opts.signal });
    emit({ type: 'boot-ready', machine: m.name, ms: Date.now() - started });
    return { qemu, ssh, endpoint, nics };
  } catch (err) {
    await qemu.kill();
    throw err;
  }
}
