// A whole class: one submission per student in a folder, each graded as its own unit (fresh VMs),
// then a gradebook (gradebook.csv) and a staff index page over all of them. Each student's folder
// <out>/<student>/ is safe to hand out; <out>/staff/<student>/ has the full staff copy.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { lstat, readdir, readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../../reports/write-atomic.ts';
import { join, relative } from 'node:path';
import { renderClassIndex } from '../../reports/class-index.ts';
import { gradebookCsv, rowFromSummary, type GradebookRow } from '../../reports/gradebook.ts';
import type { CheckResult, RunResult } from '../../reports/model.ts';
import { writeReport, type Summary } from '../../reports/summary.ts';
import { UsageError } from '../errors.ts';
import { totals } from '../lab/grade.ts';
import type { LoadedLab } from '../lab/load.ts';
import { topologyOf } from '../lab/topology.ts';

/** One student's entry in the submissions folder. */
export interface ClassEntry {
  /** Folder name under the output folder: the entry's name, made file-safe and unique. */
  student: string;
  /** Absolute path of the file to grade; null when the student's folder lacks it. */
  path: string | null;
  /** The path as given, for reports. */
  label: string;
  /** sha256 of lab.yaml and the file (null without a file): what --resume compares. */
  hash: string | null;
  /** Why a present entry is not graded (a symbolic link), for the gradebook's detail. */
  refused?: string;
}

/** Names a student folder may not take: they hold the class's own outputs. */
export const CLASS_OUTPUTS: readonly string[] = ['staff', 'playwright-report', 'test-results', 'blob-report', 'index.html', 'gradebook.csv', 'junit.xml'];
const RESERVED = new Set(CLASS_OUTPUTS);

/**
 * A file-safe folder name for `raw`, unique (case-insensitively) among `taken`, which it joins: other
 * characters become `_`, a clash gets -2, -3, ... A name in `reserved` gets a `_` first.
 */
export function uniqueFolderName(raw: string, taken: Set<string>, fallback: string, reserved: ReadonlySet<string> = new Set()): string {
  let base = raw.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._-]+/, '') || fallback;
  if (reserved.has(base.toLowerCase())) base = `${base}_`;
  let name = base;
  for (let i = 2; taken.has(name.toLowerCase()); i++) name = `${base}-${i}`;
  taken.add(name.toLowerCase());
  return name;
}

/** Why a student has no graded file, for the row and the report. */
function missingReason(e: ClassEntry, loaded: LoadedLab): string {
  return e.refused ?? `no ${loaded.lab.submission!.file} in ${e.label}`;
}

// The hash that says whether a student must be graded again: the lab file and the graded file.
export function inputHash(labText: string | Buffer, file: Buffer): string {
  const h = createHash('sha256');
  for (const part of [Buffer.from(labText), file]) h.update(`${part.length}:`).update(part);
  return h.digest('hex');
}

// The students of a submissions folder, sorted: each file is a student (alice.sh → alice), each
// folder is a student holding the lab's submission file (bob/bridge.sh → bob). Dot entries are skipped.
export async function findClass(dir: string, loaded: LoadedLab): Promise<ClassEntry[]> {
  const file = loaded.lab.submission?.file;
  if (!file) throw new UsageError(`lab ${loaded.lab.name} takes no submission, so --submissions has nothing to grade`);
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => !n.startsWith('.')).sort((a, b) => a.localeCompare(b));
  } catch {
    throw new UsageError(`--submissions: cannot read the folder ${dir}`, 'give a folder with one file (or one folder) per student');
  }
  const labText = await readFile(loaded.file);
  const taken = new Set<string>();
  const unique = (raw: string) => uniqueFolderName(raw, taken, 'student', RESERVED);
  const out: ClassEntry[] = [];
  // A symbolic link is never followed: one pointing at a host file would upload it into the VM and
  // show it in that student's report.
  const link = 'a symbolic link, not followed: submissions are graded only from regular files';
  for (const n of names) {
    const p = join(dir, n);
    const st = await lstat(p).catch(() => undefined);
    const stem = n.includes('.') ? n.slice(0, n.lastIndexOf('.')) : n;
    if (st?.isSymbolicLink()) {
      out.push({ student: unique(stem), path: null, label: relative(process.cwd(), p) || p, hash: null, refused: `${n} is ${link}` });
    } else if (st?.isFile()) {
      out.push({ student: unique(stem), path: p, label: relative(process.cwd(), p) || p, hash: inputHash(labText, await readFile(p)) });
    } else if (st?.isDirectory()) {
      const student = unique(n);
      const inner = join(p, file);
      const ist = await lstat(inner).catch(() => undefined);
      const ok = !!ist?.isFile();
      out.push({ student, path: ok ? inner : null, label: relative(process.cwd(), ok ? inner : p) || p, hash: ok ? inputHash(labText, await readFile(inner)) : null,
        ...(ist?.isSymbolicLink() ? { refused: `${n}/${file} is ${link}` } : {}) });
    }
  }
  if (out.length === 0) throw new UsageError(`--submissions: no submission in ${dir}`, `put one file (e.g. alice.sh) or one folder holding ${file} per student there`);
  return out;
}

const studentDir = (out: string, e: ClassEntry) => join(out, e.student);
const staffDir = (out: string, e: ClassEntry) => join(out, 'staff', e.student);

async function readSummary(dir: string): Promise<Summary | undefined> {
  try { return JSON.parse(await readFile(join(dir, 'summary.json'), 'utf8')) as Summary; } catch { return undefined; }
}

// --resume: a student whose graded file and lab.yaml are unchanged since a grading that finished
// (anything but an infrastructure error) keeps that grade.
export async function alreadyGraded(out: string, e: ClassEntry): Promise<boolean> {
  if (!e.hash) return false;
  const s = await readSummary(staffDir(out, e));
  return !!s && s.inputHash === e.hash && s.status !== 'error' && existsSync(join(studentDir(out, e), 'index.html'));
}

// A student without the submission file: a report that says so, every check at 0.
export async function writeMissingReport(out: string, e: ClassEntry, loaded: LoadedLab): Promise<void> {
  const { lab } = loaded;
  const why = missingReason(e, loaded);
  const checks: CheckResult[] = lab.checks.map((c) => ({
    id: c.id, name: c.name, status: 'error', points: 0, maxPoints: c.points, visibility: c.visibility,
    expected: '', got: 'not run: no submission', durationMs: 0, commands: [], reason: why, ...(c.group ? { group: c.group } : {}),
  }));
  const t = totals(checks, lab.groups);
  const result: RunResult = {
    lab: { name: lab.name, title: lab.title, dir: relative(process.cwd(), loaded.dir) || '.' },
    kernel: { name: lab.kernel, version: 'not booted' }, image: { recipeHash: 'not built' }, accel: 'tcg',
    submission: null, startedAt: new Date().toISOString(), durationMs: 0,
    score: 0, maxScore: t.maxScore, status: 'failed', error: `Not graded: ${why}.`,
    ...(t.groups.length ? { groups: t.groups } : {}),
    setup: [], checks, captures: [], collected: [], topology: topologyOf(lab),
  };
  await writeReport(result, studentDir(out, e));
  await writeReport(result, staffDir(out, e), { showHidden: true });
}

export interface ClassReports { gradebook: string; index: string; rows: GradebookRow[] }

// gradebook.csv and the staff index.html, from every student's staff summary (graded now or kept by --resume).
export async function writeClassReports(out: string, loaded: LoadedLab, entries: ClassEntry[]): Promise<ClassReports> {
  const rows: GradebookRow[] = [];
  for (const e of entries) {
    const links = { report: `${e.student}/index.html`, staffReport: `staff/${e.student}/index.html` };
    if (!e.path) {
      const maxScore = totals(loaded.lab.checks.map((c) => ({ status: 'error', points: 0, maxPoints: c.points, group: c.group }) as CheckResult), loaded.lab.groups).maxScore;
      rows.push({ student: e.student, status: 'missing', score: 0, maxScore, checks: Object.fromEntries(loaded.lab.checks.map((c) => [c.id, 0])), durationMs: null, detail: missingReason(e, loaded), ...links });
      continue;
    }
    const s = await readSummary(staffDir(out, e));
    if (!s || s.inputHash !== e.hash) {
      rows.push({ student: e.student, status: 'error', score: null, maxScore: null, checks: {}, durationMs: null, detail: 'not graded: the run ended before this submission was graded', ...links });
      continue;
    }
    rows.push(rowFromSummary(e.student, s, links));
  }
  const ids = loaded.lab.checks.map((c) => c.id);
  const gradebook = join(out, 'gradebook.csv');
  await writeFileAtomic(gradebook, gradebookCsv(rows, ids));
  const index = join(out, 'index.html');
  await writeFileAtomic(index, renderClassIndex({
    lab: { name: loaded.lab.name, title: loaded.lab.title }, generatedAt: new Date().toISOString(),
    checks: loaded.lab.checks.map((c) => ({ id: c.id, name: c.name, maxPoints: c.points })), rows,
  }));
  return { gradebook, index, rows };
}

export { staffDir as classStaffDir, studentDir as classStudentDir };
