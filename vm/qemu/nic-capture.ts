// Captures of a lab NIC taken on the host side of its link: QEMU's filter-dump on the NIC's netdev
// writes every frame the guest sends or receives on it to a pcap file. The guest cannot forge or
// hide what is there (its tcpdump, its kernel and its disk play no part), which is what a graded
// capture of traffic between machines needs. The file is QEMU's to write (it runs as the set's
// own ids), in a folder of the run; each capture is stopped at the download limit, like a guest's.
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { qemuWritableDir, type RunDir } from '../runtime.ts';
import type { NicCaptureResult } from '../types.ts';
import { downloadLimit } from '../ssh/client.ts';
import { watchDisks } from './disk-watch.ts';
import type { Qmp } from './qmp.ts';

const DIR = 'nic-captures';

interface Running { machine: string; filterId: string; file: string; cutShort?: string; stopped: boolean }

export class NicCaptures {
  private dir: Promise<string> | undefined;
  private readonly running = new Map<string, Running>();
  private readonly files = new Map<string, string>();
  private readonly max = downloadLimit();
  private readonly watch = watchDisks(this.files, this.max, (key, bytes) => {
    const r = this.running.get(key);
    if (!r || r.stopped) return;
    r.cutShort = `the capture reached ${bytes} bytes, over the limit of ${this.max} bytes (NETLAB_MAX_DOWNLOAD): recording stopped there`;
    void this.detach(r);
  });

  constructor(private readonly runDir: RunDir, private readonly qmpOf: (machine: string) => Promise<Qmp | undefined>) {}

  /** Starts recording lab NIC `nic` (0 is eth1) of `machine` as capture `name`. */
  async start(machine: string, nic: number, name: string): Promise<void> {
    const key = `${machine}/${name}`;
    if (this.running.has(key)) throw new Error(`capture ${name} on ${machine} already runs`);
    const qmp = await this.qmpOf(machine);
    if (!qmp) throw new Error(`${machine} has no QMP connection: its NICs cannot be captured on the host`);
    this.dir ??= qemuWritableDir(this.runDir, DIR);
    await this.dir;
    const file = this.fileFor(machine, name);
    const filterId = `cap-${machine}-${name}`.replace(/[^A-Za-z0-9_-]/g, '_');
    // Frames whole (maxlen above any MTU a lab sets), both directions (queue all, the default).
    await qmp.execute('object-add', { 'qom-type': 'filter-dump', id: filterId, netdev: `lab${nic}`, file, maxlen: 65_535 });
    this.running.set(key, { machine, filterId, file, stopped: false });
    this.files.set(key, file);
  }

  fileFor(machine: string, name: string): string { return join(this.runDir.path, DIR, `${machine}-${name}.pcap`); }

  /** Stops capture `name` of `machine` (QEMU closes its file) and says where its frames are. */
  async stop(machine: string, name: string): Promise<NicCaptureResult> {
    const key = `${machine}/${name}`;
    const r = this.running.get(key);
    if (!r) throw new Error(`capture ${name} on ${machine} was not started`);
    await this.detach(r);
    this.files.delete(key);
    const bytes = (await stat(r.file).catch(() => undefined))?.size ?? 0;
    return { file: r.file, bytes, ...(r.cutShort ? { cutShort: r.cutShort } : {}) };
  }

  private async detach(r: Running): Promise<void> {
    if (r.stopped) return;
    r.stopped = true;
    // A machine that is gone took its filter with it: its file holds what it recorded until then.
    await (await this.qmpOf(r.machine))?.execute('object-del', { id: r.filterId }).catch(() => {});
  }

  close(): void { this.watch.stop(); }
}
