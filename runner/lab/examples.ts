// A lab's example submissions (`examples:` in lab.yaml): what the loader checks about them, and how
// `netlab-run verify` compares the grade an example got with the one it declares. Pure: no VMs.
import type { CheckResult } from '../../reports/model.ts';
import type { Summary } from '../../reports/summary.ts';
import { totals } from './grade.ts';
import { closest, type Lab, type SchemaIssue } from './schema.ts';

/** The most points the lab can give: every check counted, groups capped (as no kernel skips one). */
export function labMaxScore(lab: Lab): number {
  return totals(lab.checks.map((c) => ({ status: 'failed', points: 0, maxPoints: c.points, group: c.group }) as CheckResult), lab.groups).maxScore;
}

// What the schema cannot say about examples: they need a submission to stand in for, name real
// checks, ask for a score the lab can give, and are listed once. (Their files are the loader's.)
export function exampleProblems(lab: Lab): SchemaIssue[] {
  if (lab.examples.length === 0) return [];
  if (!lab.submission) {
    return [{ path: ['examples'], message: 'examples are example submissions, but this lab takes no submission', fix: 'remove examples, or declare submission: { file, run, on }' }];
  }
  const issues: SchemaIssue[] = [];
  const max = labMaxScore(lab);
  const ids = lab.checks.map((c) => c.id);
  const files = new Map<string, number>();
  lab.examples.forEach((ex, i) => {
    const norm = ex.file.replace(/^\.\//, '');
    const first = files.get(norm);
    if (first !== undefined) issues.push({ path: ['examples', i, 'file'], message: `examples[${first}] already lists ${ex.file}`, fix: 'list each example once' });
    else files.set(norm, i);
    if (ex.score > max) {
      issues.push({ path: ['examples', i, 'score'], message: `score ${ex.score} is more than the lab's maximum, ${max}`, fix: `give the score it must get, at most ${max}` });
    }
    ex.failed?.forEach((id, j) => {
      if (ids.includes(id)) {
        if (ex.failed!.indexOf(id) < j) issues.push({ path: ['examples', i, 'failed', j], message: `check "${id}" is listed twice`, fix: 'list each check once' });
        return;
      }
      const guess = closest(id, ids);
      issues.push({ path: ['examples', i, 'failed', j], message: `no check with id "${id}"`,
        fix: guess ? `did you mean "${guess}"?` : `use a check id: \`netlab-run ${lab.name} --list --json\` shows them, or see the ids in a report` });
    });
  });
  return issues;
}

/** What an example must get. The reference: full marks, whatever fails (a 0-point check may). */
export interface Expected { score: number; failed?: string[]; full?: boolean }

/** How one example graded against its declaration. */
export interface Comparison {
  /** match: as declared; differs: graded otherwise; error: not graded (infrastructure), grade again. */
  verdict: 'match' | 'differs' | 'error';
  score: number | null;
  maxScore: number | null;
  /** Ids of the checks that did not pass (failed or error), in lab order. */
  failed: string[];
  /** Checks that did not pass but were not declared in `failed`. */
  unexpectedFailures: string[];
  /** Checks declared in `failed` that passed (or were skipped). */
  unexpectedPasses: string[];
  /** In words, for a line of output: why it differs, or why it was not graded. */
  detail?: string;
}

const round2 = (n: number) => Math.round(n * 100) / 100;

// Compares an example's staff summary.json (undefined: the run left none) with what it declares.
export function compareExample(expected: Expected, s: Summary | undefined): Comparison {
  if (!s || s.status === 'error') {
    return { verdict: 'error', score: null, maxScore: null, failed: [], unexpectedFailures: [], unexpectedPasses: [],
      detail: s?.error?.split('\n')[0] ?? 'not graded: the run ended before this example was graded' };
  }
  const failed = s.checks.filter((c) => c.status === 'failed' || c.status === 'error').map((c) => c.id);
  const want = expected.full ? s.maxScore : expected.score;
  const declared = expected.failed;
  const unexpectedFailures = declared ? failed.filter((id) => !declared.includes(id)) : [];
  const unexpectedPasses = declared ? declared.filter((id) => !failed.includes(id)) : [];
  const reasons: string[] = [];
  if (round2(s.score) !== round2(want)) {
    // Without a declared list, the checks that did not pass are the best clue to what changed.
    reasons.push(`expected ${expected.full ? 'full marks, ' : ''}${round2(want)}, got ${round2(s.score)}${declared ? '' : ` (did not pass: ${failed.join(', ') || 'none'})`}`);
  }
  if (unexpectedFailures.length) reasons.push(`did not pass, not declared: ${unexpectedFailures.join(', ')}`);
  if (unexpectedPasses.length) reasons.push(`declared in failed, but passed: ${unexpectedPasses.join(', ')}`);
  return {
    verdict: reasons.length ? 'differs' : 'match', score: s.score, maxScore: s.maxScore, failed, unexpectedFailures, unexpectedPasses,
    ...(reasons.length ? { detail: reasons.join('; ') } : {}),
  };
}
