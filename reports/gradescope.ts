// Gradescope's results.json (https://gradescope-autograders.readthedocs.io/en/latest/specs/) for one
// graded run: the score (group caps applied), one test per check with Gradescope's own visibility
// (hidden and after_due_date checks are hidden by Gradescope, not here), the run's story as output.
import { formatDuration, formatPoints } from './format.ts';
import type { CheckResult, CommandRecord, RunResult } from './model.ts';

export type GradescopeVisibility = 'visible' | 'hidden' | 'after_due_date' | 'after_published';

export interface GradescopeTest {
  name: string;
  number: string;
  score: number;
  max_score: number;
  status?: 'passed' | 'failed';
  output: string;
  visibility: GradescopeVisibility;
  tags: string[];
}

export interface GradescopeResults {
  score: number;
  execution_time: number;
  output: string;
  visibility: GradescopeVisibility;
  stdout_visibility: GradescopeVisibility;
  tests: GradescopeTest[];
  extra_data: Record<string, unknown>;
}

/** Characters of command output kept per test: Gradescope shows it in a collapsed <pre>. */
export const OUTPUT_CHARS = 4000;

export const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n)}\n… (${s.length - n} more characters in the full report)` : s);

export function commandText(c: CommandRecord): string {
  const exit = c.timedOut ? 'timed out' : c.exitCode === null ? 'no exit code' : `exit ${c.exitCode}`;
  return `[${c.machine}]$ ${c.command}\n${c.stdout}${c.stderr ? `${c.stdout && !c.stdout.endsWith('\n') ? '\n' : ''}[stderr]\n${c.stderr}` : ''}${c.stdout || c.stderr ? '\n' : ''}[${exit}, ${formatDuration(c.durationMs)}]`;
}

function testOutput(c: CheckResult): string {
  const lines: string[] = [];
  if (c.feedback) lines.push(c.feedback);
  if (c.status !== 'passed' && c.hint) lines.push(`Hint: ${c.hint}`);
  if (c.reason) lines.push(c.status === 'error' ? `Could not run: ${c.reason}` : c.reason);
  if (c.expected) lines.push(`Expected: ${c.expected}`);
  if (c.got) lines.push(`Got: ${c.got}`);
  const last = c.commands.at(-1);
  if (last) lines.push('', clip(commandText(last), OUTPUT_CHARS));
  return lines.join('\n');
}

const SUBMISSION_DID = {
  failed: 'exited with an error', timeout: 'ran past its time limit and was stopped', crashed: 'crashed',
  tampered: 'broke the grader\'s channel to a machine (it was flagged)',
} as const;

/** The run in words for a student: lab, score, and why a submission crashed or timed out. */
export function runOutput(r: RunResult): string {
  const lines = [`${r.lab.title} (${r.lab.name}) on ${r.kernel.name} ${r.kernel.version}`, `Score: ${formatPoints(r.score)}/${formatPoints(r.maxScore)}`];
  if (r.status === 'error') {
    lines.push('', `The grader could not finish running your submission (${r.error ?? 'infrastructure error'}).`,
      'This is not a judgement of your work: submit again, or tell the course staff.');
  } else if (r.error) {
    lines.push('', r.error);
  }
  const sub = r.submissionRun;
  if (sub && sub.status !== 'ok') lines.push('', `Your submission ${SUBMISSION_DID[sub.status]}: ${sub.detail ?? ''}`.trimEnd());
  for (const g of r.groups ?? []) lines.push(`Group ${g.name}: ${formatPoints(g.points)}/${formatPoints(g.maxPoints)} (counts at most ${formatPoints(g.cap)})`);
  return lines.join('\n');
}

// The results.json object for a run (from the full, staff result: Gradescope does the hiding).
export function toGradescope(r: RunResult): GradescopeResults {
  return {
    score: r.score,
    execution_time: Math.max(0, Math.round(r.durationMs / 1000)),
    output: runOutput(r),
    visibility: 'visible',
    // The autograder's stdout names hidden checks: staff only.
    stdout_visibility: 'hidden',
    tests: r.checks.map((c, i) => ({
      name: c.name,
      number: String(i + 1),
      score: c.points,
      max_score: c.maxPoints,
      ...(c.status === 'skipped' ? {} : { status: c.status === 'passed' ? 'passed' as const : 'failed' as const }),
      output: testOutput(c),
      visibility: c.visibility,
      tags: [c.capture ? 'capture' : 'run', ...(c.group ? [`group:${c.group}`] : []), `id:${c.id}`],
    })),
    extra_data: {
      lab: r.lab.name, kernel: r.kernel.version, status: r.status,
      ...(r.submissionRun ? { submission: r.submissionRun.status } : {}),
      ...(r.tampered?.length ? { tampered: r.tampered } : {}),
      ...(r.inputHash ? { inputHash: r.inputHash } : {}),
    },
  };
}
