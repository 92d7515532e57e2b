import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pLimit from 'p-limit';
import type { EventSink } from '../../vm/events.ts';
import { imageKey, startMachineSet, type Accel, type Backend } from '../../vm/machine-set.ts';
import type { ImageInfo, KernelInfo, MachineSet } from '../../vm/types.ts';
import { bootStepPlace } from '../lab/docker-machine.ts';
import type { Lab } from '../lab/schema.ts';
import type { DownMachine, HostCaptureStop, TamperNote, UnitLease, UnitSpec } from '../protocol/units.ts';
import { setTimeout as sleep } from 'node:timers/promises';

export interface PoolUnit { spec: UnitSpec; lab: Lab; kernelOverride: boolean }

// A capture of a lab NIC (eth1.. of a machine on a link) is taken on the host side of its link, where
// the backend can: what crossed the wire, whatever the guest does to its own tcpdump or kernel.
function hostCapturesOf(lab: Lab, set: MachineSet): Pick<UnitLease, 'hostCaptures'> {
  if (!set.startNicCapture || !set.nicCaptureFile) return {};
  const entries = lab.captures.flatMap((c) => {
    const n = Number(/^eth([1-9]\d*)$/.exec(c.interface)?.[1] ?? 0);
    return n > 0 && n <= set.nics(c.on).length ? [[c.name, { file: set.nicCaptureFile!(c.on, c.name), nic: n - 1 }] as const] : [];
  });
  return entries.length ? { hostCaptures: Object.fromEntries(entries) } : {};
}

// Boots each unit's VMs once, on first lease (or ahead of time to overlap Playwright's start-up),
// at most `parallel` units at a time; a failed boot is remembered so later tests fail fast. A guest
// that went down (powered off, crashed, killed for not answering) stays down: every later lease says
// so, and the tests skip what needs it (a student's crash is graded, not an infrastructure error).
export class VmPool {
  private sets = new Map<string, Promise<MachineSet>>();
  private reasons = new Map<string, Map<string, string>>();
  /** Units in the order workers take them, for restoring ahead; how many ahead; units already released. */
  private queue: string[] = [];
  private ahead = 0;
  private released = new Set<string>();
  private readonly limit;
  constructor(
    private readonly units: Map<string, PoolUnit>,
    /** By imageKey of a machine's extra packages ('' is the base image). */
    private readonly images: Map<string, ImageInfo>,
    private readonly kernels: Map<string, KernelInfo>,
    private readonly accel: Accel,
    private readonly onEvent: EventSink,
    private readonly signal: AbortSignal,
    private readonly parallel: number,
    private readonly backend: Backend = 'qemu',
  ) { this.limit = pLimit(parallel); }

  private imageFor(packages: string[]): ImageInfo {
    const image = this.images.get(imageKey(packages));
    if (!image) throw new Error(`no image was prepared for the packages ${packages.join(', ') || '(none)'}`);
    return image;
  }

  private boot(id: string): Promise<MachineSet> {
    let p = this.sets.get(id);
    if (!p) {
      const u = this.units.get(id);
      if (!u) return Promise.reject(new Error(`unknown unit ${id}`));
      const machines = Object.entries(u.lab.machines).map(([name, m]) => ({
        name, memoryMb: m.memory, cpus: m.cpus, lock: u.lab.lock,
        kernel: this.kernels.get(u.kernelOverride ? u.spec.kernel : (m.kernel ?? u.spec.kernel))!,
        image: this.imageFor(m.packages),
        boot: m.boot.map((b, i) => ({ run: b.run, timeoutMs: b.timeout, where: bootStepPlace(name, m.docker, i), ...(b.name ? { name: b.name } : {}) })),
      }));
      // The set's image: the one every machine shares (Vagrant boots one box per set), else the base.
      const shared = new Set(machines.map((m) => m.image.recipeHash)).size === 1 ? machines[0]!.image : this.imageFor([]);
      const request = { label: u.lab.name, image: shared, accel: this.accel, onEvent: this.onEvent, signal: this.signal, links: u.lab.links, machines };
      p = this.limit(() => startMachineSet(this.backend, request));
      p.catch(() => {});
      this.sets.set(id, p);
    }
    return p;
  }

  // Boots the first units of `ids` (the order Playwright's workers take them in) now; later, `ahead`
  // more units than are in use restore while the running ones still grade, so a worker that moves
  // to its next unit finds it ready (a class's waits — pings, timeouts — leave emulated CPU free).
  prewarm(ids: string[], ahead = 0): void {
    this.queue = ids;
    this.ahead = ahead;
    for (const id of ids.slice(0, this.parallel)) void this.boot(id).catch(() => {});
  }

  private topUp(): void {
    const live = [...this.sets.keys()].filter((id) => !this.released.has(id)).length;
    const next = this.queue.filter((id) => !this.sets.has(id)).slice(0, Math.max(0, this.parallel + this.ahead - live));
    for (const id of next) void this.boot(id).catch(() => {});
  }

  async acquire(id: string): Promise<UnitLease> {
    const set = await this.boot(id);
    this.topUp();
    const u = this.units.get(id)!;
    const first = set.endpoints()[0];
    const lease: UnitLease = {
      id, endpoints: set.endpoints(), accel: this.accel, imageHash: this.imageFor([]).recipeHash, down: this.downOf(id, set),
      kernel: { name: u.spec.kernel, version: first?.kernelVersion ?? 'unknown', modulesDisk: this.kernels.get(u.spec.kernel)?.modulesDisk },
      nics: Object.fromEntries(set.names.map((n) => [n, set.nics(n).map((nic, i) => ({ name: `eth${i + 1}`, link: nic.link, mac: nic.mac }))])),
      ...hostCapturesOf(u.lab, set),
    };
    // Lets `netlab-run shell` find these machines while the run (or --keep) is alive.
    await writeFile(join(set.runDir.path, 'lab.json'), JSON.stringify({ lab: u.lab.name, unit: id, endpoints: lease.endpoints }, null, 2));
    return lease;
  }

  private downOf(id: string, set: MachineSet): DownMachine[] {
    return set.names.filter((n) => set.isDown(n))
      .map((machine) => ({ machine, reason: this.reasons.get(id)?.get(machine) ?? set.limitReason?.(machine) ?? 'the guest powered off or crashed' }));
  }

  /** The unit's machines that are down, waiting up to waitMs for one to go down. */
  async health(id: string, waitMs: number): Promise<{ down: DownMachine[]; tampered: TamperNote[] }> {
    const set = await this.sets.get(id)?.catch(() => undefined);
    if (!set) return { down: [], tampered: [] };
    const until = Date.now() + waitMs;
    while (!set.names.some((n) => set.isDown(n)) && Date.now() < until) await sleep(100);
    const tampered = set.names.flatMap((machine) => (set.tamperReasons?.(machine) ?? []).map((reason) => ({ machine, reason })));
    return { down: this.downOf(id, set), tampered };
  }

  /** Stops a machine that stopped answering; later leases report it down with this reason. */
  async kill(id: string, machine: string, reason: string): Promise<void> {
    const set = await this.sets.get(id)?.catch(() => undefined);
    if (!set || !set.names.includes(machine)) return;
    if (!this.reasons.has(id)) this.reasons.set(id, new Map());
    this.reasons.get(id)!.set(machine, reason);
    await set.killMachine(machine);
  }

  async captureStart(id: string, capture: string): Promise<void> {
    const { set, c, nic } = await this.hostCapture(id, capture);
    await set.startNicCapture!(c.on, nic, c.name);
  }

  async captureStop(id: string, capture: string): Promise<HostCaptureStop> {
    const { set, c } = await this.hostCapture(id, capture);
    return set.stopNicCapture!(c.on, c.name);
  }

  private async hostCapture(id: string, capture: string) {
    const set = await this.sets.get(id);
    const c = this.units.get(id)?.lab.captures.find((x) => x.name === capture);
    const nic = c && set ? hostCapturesOf(this.units.get(id)!.lab, set).hostCaptures?.[c.name]?.nic : undefined;
    if (!set || !c || nic === undefined) throw new Error(`unit ${id} has no capture ${capture} taken on the host`);
    return { set, c, nic };
  }

  async release(id: string, keep: boolean): Promise<void> {
    this.released.add(id);
    if (keep) return;
    const p = this.sets.get(id);
    if (p) await (await p.catch(() => undefined))?.stop();
  }

  async running(): Promise<MachineSet[]> {
    const all = await Promise.allSettled([...this.sets.values()]);
    return all.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  }

  async stopAll(): Promise<void> {
    await Promise.all((await this.running()).map((s) => s.stop().catch(() => {})));
  }
}
