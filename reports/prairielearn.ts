// PrairieLearn's external-grader results.json (its docs, "External grading", "Grading results") for one
// graded run: score in [0, 1], gradable, a message and output for the student, one test per check.
// PrairieLearn shows every test to the student and has no per-test visibility: hidden and
// after_due_date checks are written from studentView() (name "Hidden check", points only). It refuses a
// results.json over 1 MiB, so the file is cut to fit: longest texts first, the JSON always valid.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { clip, commandText, OUTPUT_CHARS, runOutput } from './gradescope.ts';
import type { CheckResult, RunResult } from './model.ts';
import { studentView } from './redact.ts';
import { writeFileAtomic } from './write-atomic.ts';

export interface PrairieLearnTest {
  name: string;
  description?: string;
  points: number;
  max_points: number;
  message: string;
  output: string;
}

export interface PrairieLearnResults {
  gradable: boolean;
  score: number;
  message: string;
  output: string;
  format_errors?: string[];
  tests: PrairieLearnTest[];
}

/** PrairieLearn rejects more than 1024 × 1024 bytes; a margin for what a copy may add (a newline). */
export const PRAIRIELEARN_MAX_BYTES = 1_000_000;
/** Names and descriptions come from lab.yaml: kept whole unless absurd. */
const NAME_CHARS = 500;
const SUBMISSION_OUTPUT_CHARS = 16_000;

function verdict(c: CheckResult): string {
  const lines: string[] = [];
  if (c.feedback) lines.push(c.feedback);
  else lines.push(c.status === 'passed' ? 'Passed' : c.status === 'skipped' ? 'Skipped' : c.status === 'error' ? 'Could not run' : 'Failed');
  if (c.status !== 'passed' && c.hint) lines.push(`Hint: ${c.hint}`);
  if (c.reason) lines.push(c.status === 'error' ? `Could not run: ${c.reason}` : c.reason);
  return lines.join('\n');
}

function checkOutput(c: CheckResult): string {
  const lines: string[] = [];
  if (c.expected) lines.push(`Expected: ${c.expected}`);
  if (c.got) lines.push(`Got: ${c.got}`);
  const last = c.commands.at(-1);
  if (last) lines.push(...(lines.length ? [''] : []), clip(commandText(last), OUTPUT_CHARS));
  return lines.join('\n');
}

/** What the student's own script printed (the submission phase), for PrairieLearn's output panel. */
function submissionOutput(r: RunResult): string {
  return r.setup.filter((c) => c.phase === 'submission').map((c) => clip(commandText(c), SUBMISSION_OUTPUT_CHARS)).join('\n\n');
}

// The results.json object for a run, as the student may see it, within PrairieLearn's size limit.
export function toPrairieLearn(full: RunResult, maxBytes = PRAIRIELEARN_MAX_BYTES): PrairieLearnResults {
  const r = studentView(full);
  const gradable = r.status !== 'error';
  const results: PrairieLearnResults = {
    gradable,
    score: gradable && r.maxScore > 0 ? Math.min(1, Math.max(0, Math.round((r.score / r.maxScore) * 10_000) / 10_000)) : 0,
    message: runOutput(r),
    output: submissionOutput(r),
    tests: r.checks.map((c) => ({
      name: clip(c.name, NAME_CHARS),
      ...(c.group ? { description: `counts toward group ${c.group}${capOf(r, c.group)}` } : {}),
      points: c.points,
      max_points: c.maxPoints,
      message: verdict(c),
      output: checkOutput(c),
    })),
  };
  return fitToSize(results, maxBytes);
}

function capOf(r: RunResult, group: string): string {
  const g = r.groups?.find((x) => x.name === group);
  return g ? ` (its checks count at most ${g.cap} points together)` : '';
}

const bytes = (o: unknown) => Buffer.byteLength(JSON.stringify(o, null, 2) + '\n');

const cut = (s: string, n: number) =>
  (s.length > n ? `${s.slice(0, n)}\n… (${s.length - n} more characters cut: PrairieLearn takes at most 1 MB of results; the course staff have the full report)` : s);

/**
 * Cuts the long texts (every test's message and output, the run's message and output) to one common
 * length, the largest that fits, found by bisection; then, if names alone are too many, drops tests
 * from the end and says so. Short texts are never touched, so the student keeps every verdict.
 */
export function fitToSize(results: PrairieLearnResults, maxBytes = PRAIRIELEARN_MAX_BYTES): PrairieLearnResults {
  if (bytes(results) <= maxBytes) return results;
  const withCap = (n: number): PrairieLearnResults => ({
    ...results,
    message: cut(results.message, n),
    output: cut(results.output, n),
    tests: results.tests.map((t) => ({ ...t, message: cut(t.message, n), output: cut(t.output, n) })),
  });
  const longest = Math.max(results.message.length, results.output.length, ...results.tests.flatMap((t) => [t.message.length, t.output.length]));
  let lo = 0;
  let hi = longest;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (bytes(withCap(mid)) <= maxBytes) lo = mid; else hi = mid - 1;
  }
  const fitted = withCap(lo);
  if (bytes(fitted) <= maxBytes) return fitted;
  // Thousands of checks: keep as many as fit (bisection again), and the score computed over all.
  const firstN = (n: number): PrairieLearnResults => ({
    ...fitted,
    message: `${fitted.message}\n\n${fitted.tests.length - n} more checks are not listed: PrairieLearn takes at most 1 MB of results.`,
    tests: fitted.tests.slice(0, n),
  });
  let k = 0;
  let top = fitted.tests.length;
  while (k < top) {
    const mid = Math.ceil((k + top) / 2);
    if (bytes(firstN(mid)) <= maxBytes) k = mid; else top = mid - 1;
  }
  return firstN(k);
}

/** Where `--format prairielearn` puts the file in the staff folder (Gradescope's is staff/results.json). */
export const PRAIRIELEARN_FILE = join('prairielearn', 'results.json');

// Writes PrairieLearn's results.json for a run under dir (PRAIRIELEARN_FILE); returns its path.
export async function writePrairieLearn(result: RunResult, dir: string): Promise<string> {
  const file = join(dir, PRAIRIELEARN_FILE);
  await mkdir(join(dir, 'prairielearn'), { recursive: true });
  await writeFileAtomic(file, JSON.stringify(toPrairieLearn(result), null, 2) + '\n');
  return file;
}
