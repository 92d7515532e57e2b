import { mkdtemp, mkdir, readFile, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { execa } from 'execa';
import { requireTools } from '../vm/host-tools.ts';
import { ensureImage } from '../vm/image.ts';
import { chooseAccel } from '../vm/accel.ts';
import type { EventSink } from '../vm/events.ts';
import type { Accel } from '../vm/qemu-args.ts';
import { startBroker } from './broker.ts';
import { EXIT } from './exit-codes.ts';
import { findLabs, loadLab, type LoadedLab } from './lab.ts';
import { playwrightCli, writePlaywrightFiles, type GeneratedRun } from './playwright/config.ts';
import { resolveSubmission } from './submission.ts';
import { topologyOf } from './topology.ts';
import { unitId } from './units.ts';
import { ensureKernels, VmPool, type PoolUnit } from './vm-pool.ts';
import { UsageError } from './errors.ts';

export interface RunOptions {
  paths: string[];
  kernels: string[];
  submission?: string;
  outDir: string;
  keep: boolean;
  accel?: Accel;
  reporters: string[];
  workers?: number;
  onEvent: EventSink;
  signal: AbortSignal;
  /** Called with the live pool once VMs may exist (for --keep and signal handling). */
  onPool?: (pool: VmPool) => void;
}

export interface UnitOutcome { unit: string; outDir: string; status: 'passed' | 'failed' | 'error'; score: number; maxScore: number; error?: string }
export interface RunOutcome { exitCode: number; units: UnitOutcome[]; interrupted: boolean; pool?: VmPool }

export const HOST_TOOLS = ['qemu-system-x86_64', 'qemu-img', 'mmdebstrap', 'mkfs.ext4', 'dpkg-deb', 'depmod', 'cpio', 'busybox', 'tcpdump', 'setpriv', 'ssh-keygen'];

export async function loadAll(paths: string[]): Promise<LoadedLab[]> {
  const files = await findLabs(paths.length ? paths : ['.']);
  const labs: LoadedLab[] = [];
  for (const f of files) labs.push(await loadLab(f));
  return labs;
}

export async function runLabs(opts: RunOptions): Promise<RunOutcome> {
  const labs = await loadAll(opts.paths);
  if (opts.submission && labs.length > 1) throw new UsageError('--submission grades one lab; several labs were given', 'name one lab folder');
  const multiKernel = opts.kernels.length > 1;
  const units = new Map<string, PoolUnit & { loaded: LoadedLab }>();
  for (const loaded of labs) {
    const submission = resolveSubmission(loaded, opts.submission);
    for (const kernel of opts.kernels.length ? opts.kernels : [loaded.lab.kernel]) {
      const id = unitId(loaded.lab.name, kernel, multiKernel);
      units.set(id, { loaded, lab: loaded.lab, kernelOverride: opts.kernels.length > 0, spec: { id, labFile: loaded.file, kernel, submission } });
    }
  }
  await requireTools(HOST_TOOLS);
  const image = await ensureImage({ onEvent: opts.onEvent, signal: opts.signal });
  const kernelNames = new Set<string>();
  for (const u of units.values()) {
    kernelNames.add(u.spec.kernel);
    if (!u.kernelOverride) for (const m of Object.values(u.lab.machines)) if (m.kernel) kernelNames.add(m.kernel);
  }
  const kernels = await ensureKernels([...kernelNames], opts.onEvent, opts.signal);
  const firstKernel = kernels.values().next().value!;
  const { accel } = await chooseAccel({ force: opts.accel, kernel: firstKernel.kernel, initrd: firstKernel.initrd, onEvent: opts.onEvent });

  const outDir = resolve(opts.outDir);
  await mkdir(outDir, { recursive: true });
  const parallel = Math.max(1, Math.min(opts.workers ?? availableParallelism(), units.size));
  const pool = new VmPool(units, image, kernels, accel, opts.onEvent, opts.signal, parallel);
  opts.onPool?.(pool);
  const broker = await startBroker({ acquire: (id) => pool.acquire(id), release: (id) => pool.release(id, opts.keep) });
  const workDir = await mkdtemp(join(tmpdir(), 'netlab-pw-'));
  const resultsFile = join(workDir, 'results.json');
  try {
    // Boot while Playwright starts: the first tests find their VMs (nearly) ready.
    pool.prewarm([...units.keys()].slice(0, parallel));
    const gen: GeneratedRun = {
      workDir, outDir, workers: parallel, reporters: opts.reporters,
      units: [...units.values()].map((u) => ({
        spec: u.spec, lab: u.lab,
        meta: {
          unitId: u.spec.id,
          outDir: units.size === 1 ? outDir : join(outDir, u.spec.id),
          lab: { name: u.lab.name, title: u.lab.title, dir: relative(process.cwd(), u.loaded.dir) || '.' },
          kernelName: u.spec.kernel,
          submission: u.spec.submission ? { file: u.spec.submission.path, label: u.spec.submission.label } : null,
          topology: topologyOf(u.lab),
          checkOrder: u.lab.checks.map((c) => c.id),
        },
      })),
    };
    const config = await writePlaywrightFiles(gen);
    const pw = execa(process.execPath, [playwrightCli(), 'test', '--config', config], {
      stdio: ['ignore', 'inherit', 'inherit'], reject: false, cancelSignal: opts.signal, forceKillAfterDelay: 5000,
      env: { NETLAB_BROKER: broker.url, NETLAB_RESULTS_FILE: resultsFile, PLAYWRIGHT_HTML_OPEN: 'never', FORCE_COLOR: process.env.NO_COLOR || !process.stdout.isTTY ? '0' : '1' },
    });
    await pw;
    let results: { interrupted: boolean; units: UnitOutcome[] } = { interrupted: true, units: [] };
    try { results = JSON.parse(await readFile(resultsFile, 'utf8')); } catch { /* Playwright died before its reporters ran */ }
    const interrupted = opts.signal.aborted || results.interrupted;
    const exitCode = interrupted ? EXIT.interrupted
      : results.units.length < units.size || results.units.some((u) => u.status === 'error') ? EXIT.unavailable
      : results.units.some((u) => u.status === 'failed') ? EXIT.checksFailed : EXIT.passed;
    return { exitCode, units: results.units, interrupted, pool };
  } finally {
    await broker.close().catch(() => {});
    if (!opts.keep) await pool.stopAll();
    await rm(workDir, { recursive: true, force: true }).catch(() => {});
  }
}
