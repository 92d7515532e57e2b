import { readFileSync } from 'node:fs';
import { mkdtemp, mkdir, readFile, rm } from 'node:fs/promises';
import { availableParallelism, freemem, tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { execa } from 'execa';
import type { EventSink } from '../../vm/events.ts';
import { COLD_BOOTS_AT_ONCE, prepareBoot, type Accel, type Backend } from '../../vm/machine-set.ts';
import { startBroker } from './broker.ts';
import { EXIT } from '../exit-codes.ts';
import { alreadyGraded, classStaffDir, classStudentDir, findClass, inputHash, writeClassReports, writeMissingReport, type ClassReports } from './class.ts';
import { findLabs, labErrorAt, loadLab, type LoadedLab } from '../lab/load.ts';
import { playwrightOutcome, tailKeeper } from './playwright-outcome.ts';
import { playwrightCli, playwrightOrder, writePlaywrightFiles, type GeneratedRun } from '../playwright/config.ts';
import { unitsOfShard } from './shard.ts';
import { resolveSubmission } from '../lab/submission.ts';
import { topologyOf } from '../lab/topology.ts';
import type { MachineSpec } from '../lab/schema.ts';
import { unitId } from '../protocol/units.ts';
import { outputLimit, wireEnv } from '../protocol/wire.ts';
import { VmPool, type PoolUnit } from './vm-pool.ts';
import { UsageError } from '../errors.ts';
import { PackageNotFoundError } from '../../vm/errors.ts';

export interface RunOptions {
  paths: string[];
  kernels: string[];
  submission?: string;
  outDir: string;
  keep: boolean;
  accel?: Accel;
  /** Who starts the machines (default qemu). */
  backend?: Backend;
  reporters: string[];
  workers?: number;
  /** A folder of submissions, one per student: grade each in its own VMs, write a gradebook. */
  submissions?: string;
  /** With submissions: keep the grades of students whose file and lab.yaml did not change. */
  resume?: boolean;
  /** Extra outputs: gradescope (results.json per unit), junit (junit.xml). */
  formats?: string[];
  /** Bytes kept per output stream of each command (default 256 KiB). */
  maxOutput?: number;
  onEvent: EventSink;
  signal: AbortSignal;
  /** Playwright's --shard i/n: run only this shard's units and write a blob report for `netlab-run merge`. */
  shard?: string;
  /** Fetch each Debian kernel's newest version from the mirror, not the cached one (--refresh-kernels). */
  refreshKernels?: boolean;
  /** Called with the live pool once VMs may exist (for --keep and signal handling). */
  onPool?: (pool: VmPool) => void;
}

export interface UnitOutcome { unit: string; outDir: string; staffDir?: string; status: 'passed' | 'failed' | 'error'; score: number; maxScore: number; error?: string }
export interface RunOutcome { exitCode: number; units: UnitOutcome[]; interrupted: boolean; pool?: VmPool; class?: ClassReports }

export type PlannedUnit = PoolUnit & { loaded: LoadedLab; outDir: string; staffDir: string; inputHash?: string };

/** Host memory a unit needs: each VM's RAM plus QEMU's own (TCG code buffer, devices), in MiB. */
const QEMU_OVERHEAD_MIB = 160;

function availableMiB(): number {
  try {
    const m = /^MemAvailable:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'));
    if (m) return Number(m[1]) / 1024;
  } catch { /* not Linux */ }
  return freemem() / 1024 / 1024;
}

// Units at once: what was asked (default: `perCore` emulated CPUs per core, so `perCore` units of one
// vCPU, fewer of several), at most the units, and no more than 80% of the available memory holds
// (each unit boots its own VMs).
export function parallelism(requested: number | undefined, units: number, unitMiB: number, memMiB = availableMiB(), cores = availableParallelism(), perCore = 1, unitCpus = 1): number {
  const byMemory = Math.max(1, Math.floor((memMiB * 0.8) / Math.max(1, unitMiB)));
  const byCpus = Math.max(1, Math.floor((cores * perCore) / Math.max(1, unitCpus)));
  return Math.max(1, Math.min(requested ?? byCpus, units, byMemory));
}

// Under TCG a unit leaves its emulated CPU idle much of the time (SSH round trips through QEMU's user
// network, pings' intervals, a wrong submission's checks polling until their deadline): one unit per
// core kept 2 cores 57% busy grading a class of 10 bridge submissions (124 s); two per core graded it
// in 94 s. A class of 50 (80% wrong): 228 s at two per core, 210 s at three, 282–288 s at four (ten
// runnable threads per core: every QEMU runs slower than the waits it fills). Counted in vCPUs: four
// units of labs/docker-overlay at once (two machines each, Docker's Go daemons busy) ran node1's part
// past 420 s, one alone takes 72 s.
export const UNITS_PER_CORE = { tcg: 3, kvm: 1 } as const;

export async function loadAll(paths: string[]): Promise<LoadedLab[]> {
  const files = await findLabs(paths.length ? paths : ['.']);
  const labs: LoadedLab[] = [];
  for (const f of files) labs.push(await loadLab(f));
  return labs;
}

export async function runLabs(opts: RunOptions): Promise<RunOutcome> {
  const labs = await loadAll(opts.paths);
  if (opts.submission && labs.length > 1) throw new UsageError('--submission grades one lab; several labs were given', 'name one lab folder');
  const outDir = resolve(opts.outDir);
  const formats = opts.formats ?? [];
  const multiKernel = opts.kernels.length > 1;
  const units = new Map<string, PlannedUnit>();
  let klass: { loaded: LoadedLab; entries: Awaited<ReturnType<typeof findClass>> } | undefined;
  if (opts.submissions) {
    if (opts.submission) throw new UsageError('--submission and --submissions exclude each other', 'grade one file with --submission, or a folder of them with --submissions');
    if (labs.length !== 1) throw new UsageError('--submissions grades one lab; several labs were given', 'name one lab folder');
    if (multiKernel) throw new UsageError('--submissions grades on one kernel', 'give --kernel at most once');
    if (opts.keep) throw new UsageError('--keep holds one run\'s VMs for a look around; a class stops each student\'s VMs as soon as they are graded', 'grade the student alone with --submission FILE --keep');
    const loaded = labs[0]!;
    const entries = await findClass(resolve(opts.submissions), loaded);
    klass = { loaded, entries };
    const kernel = opts.kernels[0] ?? loaded.lab.kernel;
    for (const e of entries) {
      if (!e.path) { await writeMissingReport(outDir, e, loaded); continue; }
      if (opts.resume && await alreadyGraded(outDir, e)) continue;
      units.set(e.student, {
        loaded, lab: loaded.lab, kernelOverride: opts.kernels.length > 0,
        spec: { id: e.student, labFile: loaded.file, kernel, submission: { path: e.path, label: e.label } },
        outDir: classStudentDir(outDir, e), staffDir: classStaffDir(outDir, e), inputHash: e.hash ?? undefined,
      });
    }
  } else {
    for (const loaded of labs) {
      const submission = resolveSubmission(loaded, opts.submission);
      const hash = submission ? inputHash(await readFile(loaded.file), await readFile(submission.path)) : undefined;
      for (const kernel of opts.kernels.length ? opts.kernels : [loaded.lab.kernel]) {
        const id = unitId(loaded.lab.name, kernel, multiKernel);
        units.set(id, { loaded, lab: loaded.lab, kernelOverride: opts.kernels.length > 0, spec: { id, labFile: loaded.file, kernel, submission }, outDir: '', staffDir: '', inputHash: hash });
      }
    }
    for (const u of units.values()) {
      u.outDir = units.size === 1 ? outDir : join(outDir, u.spec.id);
      u.staffDir = join(u.outDir, 'staff');
    }
  }
  await mkdir(outDir, { recursive: true });
  // Playwright's own outputs name hidden checks: with the staff copies (a class's root is staff's).
  const playwrightDir = klass || units.size !== 1 ? outDir : join(outDir, 'staff');
  const outcome: RunOutcome = units.size
    ? await runUnits(opts, units, outDir, playwrightDir, formats)
    : { exitCode: EXIT.passed, units: [], interrupted: false };
  if (!klass) return outcome;
  // The class gradebook covers everyone: graded now, kept by --resume, or missing their file.
  const reports = await writeClassReports(outDir, klass.loaded, klass.entries);
  const exitCode = outcome.interrupted ? EXIT.interrupted
    : reports.rows.some((r) => r.status === 'error') ? EXIT.unavailable : EXIT.passed;
  return { ...outcome, exitCode, class: reports };
}

export async function runUnits(opts: RunOptions, units: Map<string, PlannedUnit>, outDir: string, playwrightDir: string, formats: string[]): Promise<RunOutcome> {
  const kernelNames = new Set<string>();
  const packageSets = [...units.values()].flatMap((u) => Object.values(u.lab.machines).map((m) => m.packages)).filter((p) => p.length > 0);
  for (const u of units.values()) {
    kernelNames.add(u.spec.kernel);
    if (!u.kernelOverride) for (const m of Object.values(u.lab.machines)) if (m.kernel) kernelNames.add(m.kernel);
  }
  const backend = opts.backend ?? 'qemu';
  const { images, kernels, accel } = await prepareBoot({
    backend, kernels: [...kernelNames], packageSets, accel: opts.accel, refreshKernels: opts.refreshKernels, onEvent: opts.onEvent, signal: opts.signal,
  }).catch(async (err: unknown) => { throw err instanceof PackageNotFoundError ? await unknownPackage(err, units) : err; });

  // The heaviest unit's machines, summed: what one unit at once costs in memory and in vCPUs.
  const heaviest = (size: (m: MachineSpec) => number) => Math.max(...[...units.values()].map((u) => Object.values(u.lab.machines).reduce((t, m) => t + size(m), 0)));
  const unitMiB = heaviest((m) => m.memory + QEMU_OVERHEAD_MIB);
  const vagrant = backend === 'vagrant';
  const unitCpus = heaviest((m) => m.cpus);
  const parallel = parallelism(opts.workers, units.size, unitMiB, undefined, undefined, vagrant ? 1 : UNITS_PER_CORE[accel], vagrant ? 1 : unitCpus);
  // One unit restored ahead per worker when memory holds twice as many (QEMU backend: Vagrant boots cold).
  const ahead = vagrant ? 0 : parallelism(2 * parallel, units.size, unitMiB) - parallel;
  const pool = new VmPool(units, images, kernels, accel, opts.onEvent, opts.signal, parallel, backend);
  opts.onPool?.(pool);
  const broker = await startBroker({
    acquire: (id) => pool.acquire(id), release: (id) => pool.release(id, opts.keep),
    health: (id, waitMs) => pool.health(id, waitMs), kill: (id, machine, reason) => pool.kill(id, machine, reason),
    captureStart: (id, capture) => pool.captureStart(id, capture), captureStop: (id, capture) => pool.captureStop(id, capture),
  });
  const workDir = await mkdtemp(join(tmpdir(), 'netlab-pw-'));
  const resultsFile = join(workDir, 'results.json');
  try {
    // Boot while Playwright starts: the first tests find their VMs (nearly) ready.
    if (!opts.shard) pool.prewarm(playwrightOrder([...units.keys()]), ahead);
    const files = await writePlaywrightFiles({ ...generatedRun(units, { workDir, outDir, playwrightDir, parallel, reporters: opts.reporters, formats, shard: opts.shard }), coldBootsAtOnce: COLD_BOOTS_AT_ONCE });
    // A shard boots only its own units: Playwright says which (runner/orchestrate/shard.ts).
    const inShard = opts.shard ? await unitsOfShard(files, opts.shard, opts.signal) : undefined;
    if (inShard) pool.prewarm(inShard, ahead);
    // --pdeathsig: a kill -9 of netlab-run takes Playwright (and so its workers) with it, as it does QEMU.
    const pw = execa('setpriv', ['--pdeathsig', 'KILL', '--', process.execPath, playwrightCli(), 'test', '--config', files.config, ...(opts.shard ? ['--shard', opts.shard] : [])], {
      stdio: ['ignore', 'inherit', 'pipe'], reject: false, cancelSignal: opts.signal, forceKillAfterDelay: 5000,
      env: {
        ...files.env, PLAYWRIGHT_HTML_OPEN: 'never', FORCE_COLOR: process.env.NO_COLOR || !process.stdout.isTTY ? '0' : '1',
        ...wireEnv({
          broker: broker.url, resultsFile, maxOutput: opts.maxOutput ?? outputLimit(),
          ...(formats.includes('junit') || opts.reporters.includes('junit') ? { junitFile: join(playwrightDir, 'junit.xml') } : {}),
        }),
      },
    });
    // Playwright's stderr still reaches the user; its tail is the message if it fails to start.
    const stderrTail = tailKeeper();
    pw.stderr?.on('data', (chunk: Buffer) => { stderrTail.push(chunk); process.stderr.write(chunk); });
    const done = await pw;
    const { exitCode, units: graded, interrupted } = playwrightOutcome({
      resultsText: await readFile(resultsFile, 'utf8').catch(() => undefined),
      exitCode: done.exitCode, signal: done.signal, stderrTail: stderrTail.text(),
      aborted: opts.signal.aborted, expectedUnits: inShard?.length ?? units.size,
    });
    return { exitCode, units: graded, interrupted, pool };
  } finally {
    await broker.close().catch(() => {});
    if (!opts.keep) await pool.stopAll();
    await rm(workDir, { recursive: true, force: true }).catch(() => {});
  }
}

// What Playwright is started on: one spec file per unit and, in the project's metadata, each unit's
// report settings (the reporter writes each unit's folders from them).
function generatedRun(units: Map<string, PlannedUnit>, w: { workDir: string; outDir: string; playwrightDir: string; parallel: number; reporters: string[]; formats: string[]; shard?: string }): GeneratedRun {
  return {
    workDir: w.workDir, outDir: w.outDir, staffDir: w.playwrightDir, workers: w.parallel,
    // junit is written by netlab's reporter from the grades (the wire's junitFile), not Playwright's.
    reporters: [...new Set([...w.reporters.filter((r) => r !== 'junit'), ...(w.shard ? ['blob'] : [])])],
    units: [...units.values()].map((u) => ({
      spec: u.spec, lab: u.lab,
      meta: {
        unitId: u.spec.id,
        outDir: u.outDir,
        staffDir: u.staffDir,
        lab: { name: u.lab.name, title: u.lab.title, dir: relative(process.cwd(), u.loaded.dir) || '.' },
        kernelName: u.spec.kernel,
        ...(u.lab.lock.enabled ? {} : { kernelUnlocked: true }),
        submission: u.spec.submission ? { file: u.spec.submission.path, label: u.spec.submission.label } : null,
        topology: topologyOf(u.lab),
        checkOrder: u.lab.checks.map((c) => c.id),
        groups: u.lab.groups,
        checkGroups: Object.fromEntries(u.lab.checks.flatMap((c) => (c.group ? [[c.id, c.group]] : []))),
        formats: w.formats,
        ...(u.inputHash ? { inputHash: u.inputHash } : {}),
        outRoot: w.outDir,
      },
    })),
  };
}

// The lab.yaml line that asked for a package Debian does not have.
async function unknownPackage(err: PackageNotFoundError, units: Map<string, PlannedUnit>): Promise<Error> {
  for (const u of units.values()) {
    for (const [name, m] of Object.entries(u.lab.machines)) {
      const i = m.packages.findIndex((p) => err.packages.includes(p));
      if (i >= 0) {
        return labErrorAt(u.loaded.file, ['machines', name, 'packages', i], `Debian ${err.suite} has no package "${m.packages[i]}" (looked up in ${err.mirror})`,
          `use the name of a Debian ${err.suite} package (apt-cache search, or https://packages.debian.org/${err.suite}/); the machines boot Debian ${err.suite}'s archive only`);
      }
    }
  }
  return err;
}
