// The student's view of a run: hidden and after-due-date checks keep only their points and status.
// Their names, ids, commands, outputs, hints and feedback are what a student must not see, in any
// file of the folder handed to them (index.html, result.json, summary.json).
import { isHidden } from './format.ts';
import type { CheckResult, RunResult } from './model.ts';

/** The name every hidden check gets in a student's files. */
export const HIDDEN_NAME = 'Hidden check';

// A copy of the run without anything hidden checks would reveal; visible checks are unchanged.
export function studentView(result: RunResult): RunResult {
  let n = 0;
  const checks = result.checks.map((c): CheckResult => {
    if (!isHidden(c)) return c;
    n++;
    return {
      id: `hidden-${n}`, name: HIDDEN_NAME, status: c.status, points: c.points, maxPoints: c.maxPoints,
      visibility: c.visibility, expected: '', got: '', durationMs: c.durationMs, commands: [],
    };
  });
  return { ...result, checks };
}
