// Runs in Playwright's runner process, as a reporter: grades each unit from its tests' annotations
// and attachments and writes its reports.
import { copyFile, mkdir } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import type { FullConfig, FullResult, Reporter, Suite, TestCase, TestResult } from '@playwright/test/reporter';
import type { CaptureResult, CheckResult, CommandRecord, RunResult, SubmissionRun } from '../../reports/model.ts';
import { toJUnit, type JUnitSuite } from '../../reports/junit.ts';
import { writeGradescope, writeReport } from '../../reports/summary.ts';
import { writeFileAtomic } from '../../reports/write-atomic.ts';
import { writePrairieLearn } from '../../reports/prairielearn.ts';
import { totals, type GroupCaps } from '../lab/grade.ts';
import type { TamperNote, UnitLease } from '../protocol/units.ts';
import { NOTE, noteOf, PCAP_ATTACHMENT, readAttachment, readWire, type CrashNote } from '../protocol/wire.ts';

export interface UnitMeta {
  unitId: string;
  outDir: string;
  lab: RunResult['lab'];
  kernelName: string;
  /** The lab turned the kernel lock off (lab.yaml lock.enabled: false). */
  kernelUnlocked?: boolean;
  submission: RunResult['submission'];
  topology: RunResult['topology'];
  checkOrder: string[];
  /** Where the staff copy goes (everything, hidden checks included; default outDir/staff); outDir gets the student's view. */
  staffDir?: string;
  /** Group caps of the lab, and each check's group. */
  groups?: GroupCaps;
  checkGroups?: Record<string, string>;
  /** Extra per-unit outputs: 'gradescope' writes results.json into the staff folder, 'prairielearn' prairielearn/results.json. */
  formats?: string[];
  /** See RunResult.inputHash. */
  inputHash?: string;
  /** The run's report folder (--out): `netlab-run merge` moves outDir and staffDir from it to its own --out. */
  outRoot?: string;
}

interface UnitState {
  meta: UnitMeta;
  started: number;
  setup: CommandRecord[];
  lease?: UnitLease;
  captureErrors: Record<string, string>;
  checks: Map<string, CheckResult>;
  captures: CaptureResult[];
  pcaps: { name: string; path: string }[];
  collected: CommandRecord[];
  infraError?: string;
  /** A failed "kernel health" check when dmesg showed BUG/WARNING/Oops/panic. */
  health?: CheckResult;
  crashes: CrashNote[];
  notes: string[];
  tampered?: TamperNote[];
  /** First test start and last test end of this unit (units of a class run one after another). */
  begun?: number;
  ended?: number;
}

const note = (t: TestCase, type: string) => noteOf(t.annotations, type);

/** The unit a test belongs to (lab-tests.ts tags every test with it). */
export const unitOf = (t: TestCase) => note(t, NOTE.unit);

/** Each unit's report settings, from the project's metadata (config.ts). */
export function unitMetas(metadata: unknown): Record<string, UnitMeta> {
  return (metadata as { netlab?: { units?: Record<string, UnitMeta> } } | undefined)?.netlab?.units ?? {};
}

// Grades from Playwright's own results (annotations + attachments), so a merged blob report of many
// shards grades exactly like a single run.
export default class NetlabReporter implements Reporter {
  private units = new Map<string, UnitState>();

  printsToStdio() { return false; }

  onBegin(config: FullConfig, suite: Suite) {
    // Only the units of this run: a shard (--shard i/n) has every unit's settings but the tests of a few.
    const inRun = typeof suite?.allTests === 'function' ? new Set(suite.allTests().map(unitOf)) : undefined;
    for (const p of config.projects) {
      for (const [id, meta] of Object.entries(unitMetas(p.metadata))) {
        if (!inRun || inRun.has(id)) this.units.set(id, { meta: movedTo(meta, readWire().outDir), started: Date.now(), setup: [], captureErrors: {}, checks: new Map(), captures: [], pcaps: [], collected: [], crashes: [], notes: [] });
      }
    }
  }

  // Times come from the results, not the clock: a merged blob report replays them later.
  onTestBegin(test: TestCase, result: TestResult) {
    const unit = this.units.get(unitOf(test) ?? '');
    const t = result?.startTime ? result.startTime.getTime() : Date.now();
    if (unit && (unit.begun === undefined || t < unit.begun)) unit.begun = t;
  }

  onTestEnd(test: TestCase, result: TestResult) {
    const unit = this.units.get(unitOf(test) ?? '');
    if (!unit) return;
    unit.ended = Math.max(unit.ended ?? 0, result.startTime ? result.startTime.getTime() + result.duration : Date.now());
    const kind = note(test, NOTE.kind);
    const error = result.errors.map((e) => e.message ?? '').join('\n').replace(/\x1b\[[0-9;]*m/g, '');
    if (kind === 'setup') {
      const s = readAttachment(result.attachments, 'netlab-setup');
      if (s) Object.assign(unit, { setup: s.records, lease: s.lease, captureErrors: s.captureErrors, crashes: s.crashes ?? [], notes: s.notes ?? [] });
      else if (result.status !== 'passed') unit.infraError = error || `setup ${result.status}`;
    } else if (kind === 'stage') {
      // A later stage of the submission: its commands join the setup section, in the order they ran.
      const s = readAttachment(result.attachments, 'netlab-stage');
      if (s) { unit.setup.push(...s.records); unit.crashes.push(...(s.crashes ?? [])); unit.notes.push(...(s.notes ?? [])); }
      if (result.status !== 'passed' && result.status !== 'skipped') unit.infraError ??= `stage ${note(test, NOTE.stage)}: ${error.split('\n')[0] || result.status}`;
    } else if (kind === 'check') {
      const id = note(test, NOTE.checkId)!;
      const c = readAttachment(result.attachments, 'netlab-check') ?? {
        id, name: test.title, status: result.status === 'skipped' ? 'skipped' : 'error',
        points: 0, maxPoints: Number(note(test, NOTE.points) ?? 0),
        visibility: (note(test, NOTE.visibility) ?? 'visible') as CheckResult['visibility'], hint: note(test, NOTE.hint),
        expected: '', got: result.status === 'timedOut' ? 'the check ran past its time limit' : error.split('\n')[0] ?? result.status,
        durationMs: result.duration, commands: [], reason: unit.infraError ?? error,
      } satisfies CheckResult;
      unit.checks.set(id, c);
      const crash = readAttachment(result.attachments, 'netlab-crash');
      if (crash && !unit.crashes.some((k) => k.machine === crash.machine && !k.contained)) unit.crashes.push(crash);
    } else if (kind === 'final') {
      const f = readAttachment(result.attachments, 'netlab-final');
      if (f) { unit.captures = f.captures; unit.collected = f.collected; unit.health = f.health; unit.tampered = f.tampered; }
      for (const a of result.attachments) if (a.name.startsWith(PCAP_ATTACHMENT) && a.path) unit.pcaps.push({ name: a.name.slice(PCAP_ATTACHMENT.length), path: a.path });
      // The unit is complete: its reports are written now, not when the whole run ends, so a crash or
      // a kill -9 of a class run later on loses nothing already graded (--resume takes it up).
      if (!this.written.has(unit)) this.written.set(unit, this.writeUnit(unit, undefined));
    }
  }

  async onEnd(result: FullResult) {
    for (const unit of this.units.values()) if (!this.written.has(unit)) this.written.set(unit, this.writeUnit(unit, result));
    const done = await Promise.all([...this.units.values()].map((u) => this.written.get(u)!));
    // JUnit from the grades (not Playwright's junit reporter: a failed check is an expected failure
    // there, see lab-tests.ts, so it would count as passed).
    const { junitFile: junit, resultsFile } = readWire();
    if (junit) { await mkdir(dirname(junit), { recursive: true }); await writeFileAtomic(junit, toJUnit(done.map((d) => d.suite))); }
    if (resultsFile) await writeFileAtomic(resultsFile, JSON.stringify({ interrupted: result.status === 'interrupted', units: done.map((d) => d.index) }, null, 2));
  }

  private readonly written = new Map<UnitState, Promise<{ suite: JUnitSuite; index: unknown }>>();

  // The staff copy first, the student's folder last, its summary.json the very last file: a student
  // folder with a summary.json is complete, which is what --resume trusts.
  private async writeUnit(unit: UnitState, result: FullResult | undefined): Promise<{ suite: JUnitSuite; index: unknown }> {
    const run = this.build(unit, result);
    const staffDir = unit.meta.staffDir ?? join(unit.meta.outDir, 'staff');
    const copyCaptures = async (dir: string) => {
      await mkdir(join(dir, 'captures'), { recursive: true });
      for (const p of unit.pcaps) await copyFile(p.path, join(dir, 'captures', `${p.name}.pcap`)).catch(() => {});
    };
    await copyCaptures(staffDir);
    await writeReport(run, staffDir, { showHidden: true });
    if (unit.meta.formats?.includes('gradescope')) await writeGradescope(run, staffDir);
    if (unit.meta.formats?.includes('prairielearn')) await writePrairieLearn(run, staffDir);
    await copyCaptures(unit.meta.outDir);
    // The student's folder: hidden checks reduced to points.
    await writeReport(run, unit.meta.outDir);
    return {
      suite: { name: unit.meta.unitId, result: run },
      index: { unit: unit.meta.unitId, outDir: unit.meta.outDir, staffDir, status: run.status, score: run.score, maxScore: run.maxScore, error: run.error },
    };
  }

  /** result: the whole run's end, or undefined for a unit written as soon as it finished. */
  private build(unit: UnitState, result: FullResult | undefined): RunResult {
    const checks = unit.meta.checkOrder.map((id) => unit.checks.get(id)).filter((c): c is CheckResult => !!c);
    const kernelSick = unit.health !== undefined;
    if (unit.health) checks.push(unit.health);
    for (const c of checks) if (c.capture && unit.captureErrors[c.capture] && c.status !== 'passed') {
      c.got = `${c.got} (the capture did not run: ${unit.captureErrors[c.capture]})`;
    }
    for (const cap of unit.captures) if (unit.captureErrors[cap.name]) cap.error = unit.captureErrors[cap.name];
    for (const c of checks) { const g = unit.meta.checkGroups?.[c.id]; if (g) c.group = g; }
    const { score, maxScore, groups } = totals(checks, unit.meta.groups ?? {});
    const interrupted = result?.status === 'interrupted';
    const status: RunResult['status'] = unit.infraError ? 'error' : interrupted ? 'error'
      : !kernelSick && checks.length === unit.meta.checkOrder.length && checks.every((c) => c.status === 'passed' || c.status === 'skipped') ? 'passed' : 'failed';
    return {
      lab: unit.meta.lab,
      kernel: { name: unit.meta.kernelName, version: unit.lease?.kernel.version ?? 'unknown', ...(unit.meta.kernelUnlocked ? { locked: false } : {}) },
      image: { recipeHash: unit.lease?.imageHash ?? 'unknown' },
      accel: unit.lease?.accel ?? 'tcg',
      submission: unit.meta.submission,
      startedAt: new Date(unit.begun ?? unit.started).toISOString(),
      durationMs: (unit.ended ?? Date.now()) - (unit.begun ?? unit.started),
      score, maxScore, status,
      error: unit.infraError ?? (interrupted ? 'interrupted' : undefined),
      ...(unit.meta.submission && !unit.infraError ? { submissionRun: submissionRun(unit) } : {}),
      ...(groups.length ? { groups } : {}),
      ...(unit.tampered?.length ? { tampered: unit.tampered } : {}),
      ...(unit.meta.inputHash ? { inputHash: unit.meta.inputHash } : {}),
      setup: unit.setup, checks, captures: unit.captures, collected: unit.collected,
      topology: unit.meta.topology,
    };
  }
}

// A unit's folders under another report folder (`netlab-run merge --out DIR` sets the run settings' outDir):
// the same places relative to the run's --out, so a merge of shards lays out like the single run.
function movedTo(meta: UnitMeta, root: string | undefined): UnitMeta {
  if (!root) return meta;
  const from = meta.outRoot ?? (basename(meta.outDir) === meta.unitId ? dirname(meta.outDir) : meta.outDir);
  const move = (p: string) => join(root, relative(from, p));
  return { ...meta, outDir: move(meta.outDir), staffDir: meta.staffDir ? move(meta.staffDir) : undefined, outRoot: root };
}

// How the student's commands ran, from their records and the crash notes of setup and stages.
function submissionRun(unit: UnitState): SubmissionRun | undefined {
  const runs = unit.setup.filter((r) => r.phase === 'submission');
  if (runs.length === 0 && unit.crashes.length === 0) return undefined;
  const notes = unit.notes.length ? `\n${unit.notes.join('\n')}` : '';
  if (unit.crashes.length) {
    const down = [...new Set(unit.crashes.filter((c) => !c.contained).map((c) => c.machine))];
    const status = unit.crashes.some((c) => c.tampered) ? 'tampered' : 'crashed';
    return { status, ...(down.length ? { down } : {}), detail: unit.crashes.map((c) => `[${c.machine}] ${c.reason}`).join('\n') + notes };
  }
  const late = runs.find((r) => r.timedOut);
  if (late) return { status: 'timeout', detail: `[${late.machine}] ${late.command} ran past its time limit (stopped after ${(late.durationMs / 1000).toFixed(0)} s)${notes}` };
  const bad = runs.find((r) => r.exitCode !== 0);
  if (bad) {
    const last = bad.stderr.trim().split('\n').at(-1) ?? '';
    return { status: 'failed', detail: `[${bad.machine}] ${bad.command} exited ${bad.exitCode}${last ? `: ${last.slice(0, 200)}` : ''}` };
  }
  // What the grader stopped or kept after it (the quarantine) is worth saying even when it ran fine.
  return { status: 'ok', ...(notes ? { detail: notes.slice(1) } : {}) };
}
