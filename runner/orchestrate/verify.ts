// `netlab-run verify <labs...>`: grades each lab's reference and every example submission its
// lab.yaml declares (`examples:`), all as units of one Playwright run (restored snapshots, parallel,
// like a class), and compares each grade with the declared one. Exit 0 when every example grades as
// declared, 1 when one does not (the lab's checks do not tell its mistakes apart as its author
// thinks), 69 when one could not be graded. Each lab's reports are a class folder: one report per
// example, gradebook.csv, a staff index.html.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, join, relative, resolve } from 'node:path';
import { createColors } from 'picocolors';
import type { Summary } from '../../reports/summary.ts';
import { stopAllMachineSets, type Accel } from '../../vm/machine-set.ts';
import { CLASS_OUTPUTS, classStaffDir, classStudentDir, inputHash, uniqueFolderName, writeClassReports, type ClassEntry } from './class.ts';
import { UsageError } from '../errors.ts';
import { compareExample, labMaxScore, type Comparison, type Expected } from '../lab/examples.ts';
import { EXIT } from '../exit-codes.ts';
import { stopOnSignals } from './interrupts.ts';
import type { LoadedLab } from '../lab/load.ts';
import { progressPrinter } from './progress.ts';
import { loadAll, runUnits, type PlannedUnit } from './run.ts';

export interface VerifyOptions { out: string; json: boolean; kernel?: string; workers?: number; accel?: Accel; verbose: boolean }

/** One graded submission of a lab: its reference or one of its examples. */
interface Example extends ClassEntry { file: string | null; reference: boolean; expected: Expected }
/** A lab to verify: its reports go to <out>/<key>/. */
interface LabPlan { loaded: LoadedLab; key: string; examples: Example[] }

/** A lab's outcome, as --json prints it and verify.json keeps it. */
export interface LabVerdict {
  lab: string;
  dir: string;
  maxScore: number;
  reports: string;
  /** No example declared: only the reference was graded. */
  noMistakes: boolean;
  examples: (Comparison & { name: string; file: string | null; reference: boolean; expected: Expected; report: string; staffReport: string })[];
}

// Folder names a plan may not take: the class folder's own outputs, and a clash with the reference.
const TAKEN = [...CLASS_OUTPUTS, 'reference', 'verify.json'];
const uniqueName = (raw: string, taken: Set<string>) => uniqueFolderName(raw, taken, 'example');

// Each lab's reference (full marks) and examples (as declared), named for folders and units.
export async function planVerify(labs: LoadedLab[]): Promise<LabPlan[]> {
  const keys = new Set<string>(['verify.json', 'playwright-report', 'test-results', 'blob-report']);
  const plans: LabPlan[] = [];
  for (const loaded of labs) {
    const { lab, dir } = loaded;
    const shown = relative(process.cwd(), dir) || '.';
    const labText = await readFile(loaded.file);
    const entry = async (student: string, path: string, label: string) => ({ student, path, label, hash: inputHash(labText, await readFile(path)) });
    const examples: Example[] = [];
    if (!lab.submission) {
      // A lab that grades no submission: its checks alone must all pass.
      examples.push({ student: 'reference', path: null, label: 'no submission (the lab grades its checks alone)', hash: null, file: null, reference: true, expected: { score: 0, full: true } });
    } else {
      if (!lab.submission.reference && lab.examples.length === 0) {
        throw new UsageError(`lab ${lab.name} (${shown}) has no reference solution and no examples: nothing to verify`,
          'add submission.reference (it must get full marks) and examples: [{ file, score }] to its lab.yaml (see docs/lab-format.md)');
      }
      const taken = new Set(TAKEN);
      if (lab.submission.reference) {
        const path = resolve(dir, lab.submission.reference);
        examples.push({ ...await entry('reference', path, `reference solution (${relative(process.cwd(), path)})`), file: lab.submission.reference, reference: true, expected: { score: labMaxScore(lab), full: true } });
      }
      for (const ex of lab.examples) {
        const path = resolve(dir, ex.file);
        const name = uniqueName(basename(ex.file).replace(/\.[^.]*$/, ''), taken);
        examples.push({ ...await entry(name, path, relative(process.cwd(), path) || path), file: ex.file, reference: false,
          expected: { score: ex.score, ...(ex.failed ? { failed: ex.failed } : {}) } });
      }
    }
    plans.push({ loaded, key: uniqueName(lab.name, keys), examples });
  }
  return plans;
}

export async function verifyCommand(paths: string[], o: VerifyOptions): Promise<number> {
  const plans = await planVerify(await loadAll(paths));
  const out = resolve(o.out);
  const units = new Map<string, PlannedUnit>();
  for (const p of plans) {
    const labOut = join(out, p.key);
    for (const e of p.examples) {
      const id = `${p.key}.${e.student}`;
      const unit: PlannedUnit = {
        loaded: p.loaded, lab: p.loaded.lab, kernelOverride: !!o.kernel,
        spec: { id, labFile: p.loaded.file, kernel: o.kernel ?? p.loaded.lab.kernel, submission: e.path ? { path: e.path, label: e.label } : null },
        outDir: classStudentDir(labOut, e), staffDir: classStaffDir(labOut, e), ...(e.hash ? { inputHash: e.hash } : {}),
      };
      // A summary left by an earlier verify must not stand in for one this run failed to write.
      for (const d of [unit.outDir, unit.staffDir]) await rm(join(d, 'summary.json'), { force: true });
      units.set(id, unit);
    }
  }
  await mkdir(out, { recursive: true });

  const stop = stopOnSignals('verify');
  let interrupted: boolean;
  try {
    ({ interrupted } = await runUnits({
      paths, kernels: o.kernel ? [o.kernel] : [], outDir: out, keep: false, accel: o.accel, reporters: [], workers: o.workers,
      onEvent: progressPrinter({ verbose: o.verbose }), signal: stop.signal, onPool: stop.onPool,
    }, units, out, out, []));
  } finally {
    await stopAllMachineSets();
    stop.dispose();
  }

  const verdicts: LabVerdict[] = [];
  for (const p of plans) verdicts.push(await judgeLab(p, join(out, p.key)));
  const all = verdicts.flatMap((v) => v.examples);
  const exitCode = interrupted ? EXIT.interrupted
    : all.some((e) => e.verdict === 'error') ? EXIT.unavailable
    : all.some((e) => e.verdict === 'differs') ? EXIT.examplesDiffer : EXIT.passed;
  const doc = { exitCode, labs: verdicts };
  await writeFile(join(out, 'verify.json'), JSON.stringify(doc, null, 2) + '\n');
  if (o.json) process.stdout.write(JSON.stringify(doc, null, 2) + '\n');
  else process.stdout.write(formatVerify(verdicts, exitCode, !process.env.NO_COLOR && !!process.stdout.isTTY));
  return exitCode;
}

async function judgeLab(p: LabPlan, labOut: string): Promise<LabVerdict> {
  // The class machinery's gradebook and staff index, over the examples instead of students.
  if (p.loaded.lab.submission) await writeClassReports(labOut, p.loaded, p.examples);
  const rel = (f: string) => relative(process.cwd(), f) || f;
  const examples: LabVerdict['examples'] = [];
  for (const e of p.examples) {
    const staff = classStaffDir(labOut, e);
    const summary = await readFile(join(staff, 'summary.json'), 'utf8').then((t) => JSON.parse(t) as Summary, () => undefined);
    // A summary of other inputs (an earlier lab.yaml or file) is not this example's grade.
    const current = summary && (!e.hash || summary.inputHash === e.hash) ? summary : undefined;
    examples.push({
      name: e.student, file: e.file, reference: e.reference, expected: e.expected, ...compareExample(e.expected, current),
      report: rel(join(classStudentDir(labOut, e), 'index.html')), staffReport: rel(join(staff, 'index.html')),
    });
  }
  return {
    lab: p.loaded.lab.name, dir: relative(process.cwd(), p.loaded.dir) || '.', maxScore: labMaxScore(p.loaded.lab),
    reports: rel(p.loaded.lab.submission ? join(labOut, 'index.html') : labOut), noMistakes: p.loaded.lab.examples.length === 0, examples,
  };
}

// Per lab: one line per example (got vs expected, what differs), then the verdict.
export function formatVerify(labs: LabVerdict[], exitCode: number, color: boolean): string {
  const c = createColors(color);
  const fmt = (n: number | null) => (n === null ? '–' : String(Math.round(n * 100) / 100));
  const lines: string[] = [''];
  for (const v of labs) {
    lines.push(`${c.bold(v.lab)}  ${c.dim(`${v.dir}, ${v.maxScore} points`)}`);
    const w = Math.max(...v.examples.map((e) => e.name.length));
    for (const e of v.examples) {
      const mark = e.verdict === 'match' ? c.green('✓') : e.verdict === 'differs' ? c.red('✗') : c.yellow('!');
      const got = `${fmt(e.score)}/${fmt(e.maxScore ?? v.maxScore)}`.padStart(7);
      const want = e.reference ? 'full marks' : `expected ${fmt(e.expected.score)}${e.expected.failed ? `, failing ${e.expected.failed.length ? e.expected.failed.join(', ') : 'none'}` : ''}`;
      const says = e.verdict === 'match' ? c.dim(want) : e.verdict === 'differs' ? c.red(e.detail ?? '') : c.yellow(`not graded: ${e.detail ?? ''}`);
      lines.push(`  ${mark} ${e.name.padEnd(w)}  ${got}  ${says}${e.verdict === 'match' ? '' : c.dim(`  (${e.staffReport})`)}`);
    }
    if (v.noMistakes) lines.push(c.yellow(`  no mistakes declared: only the reference was graded; list typical mistakes under examples: in ${v.dir}/lab.yaml`));
    lines.push(c.dim(`  reports: ${v.reports}`));
  }
  const all = labs.flatMap((v) => v.examples);
  const n = (k: Comparison['verdict']) => all.filter((e) => e.verdict === k).length;
  const total = `${all.length} submission${all.length === 1 ? '' : 's'} of ${labs.length} lab${labs.length === 1 ? '' : 's'}`;
  lines.push(exitCode === EXIT.passed ? c.green(`verify: all ${total} graded as declared`)
    : exitCode === EXIT.interrupted ? c.yellow(`verify: interrupted; ${n('match')} of ${total} graded as declared before it stopped`)
    : [n('differs') ? c.red(`verify: ${n('differs')} of ${total} graded otherwise than declared: the lab's checks do not grade its examples as declared`) : '',
      n('error') ? c.yellow(`verify: ${n('error')} of ${total} could not be graded (infrastructure); run verify again`) : ''].filter(Boolean).join('\n'));
  return lines.join('\n') + '\n';
}
