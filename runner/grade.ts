import type { CheckResult } from '../reports/model.ts';
import type { ExecResult } from '../vm/types.ts';
import type { CaptureCheck, RunCheck, TextExpect } from './schema.ts';

export interface Verdict { pass: boolean; expected: string; got: string }

const clip = (s: string, n = 200) => (s.length > n ? `${s.slice(0, n)}…` : s);

function textVerdict(stream: 'stdout' | 'stderr', want: TextExpect | undefined, text: string): Verdict | undefined {
  if (!want) return undefined;
  const shown = JSON.stringify(clip(text.trim()));
  if (want.contains !== undefined) {
    const needles = Array.isArray(want.contains) ? want.contains : [want.contains];
    const missing = needles.filter((n) => !text.includes(n));
    return { pass: missing.length === 0, expected: `${stream} contains ${needles.map((n) => JSON.stringify(n)).join(' and ')}`,
      got: missing.length ? `${stream} lacks ${missing.map((n) => JSON.stringify(n)).join(', ')}: ${shown}` : `${stream} contains it` };
  }
  if (want.matches !== undefined) {
    const ok = new RegExp(want.matches, 'm').test(text);
    return { pass: ok, expected: `${stream} matches /${want.matches}/`, got: ok ? `${stream} matches` : `${stream} was ${shown}` };
  }
  if (want.equals !== undefined) {
    const ok = text.trim() === want.equals.trim();
    return { pass: ok, expected: `${stream} is ${JSON.stringify(want.equals.trim())}`, got: `${stream} was ${shown}` };
  }
  return undefined;
}

// A run check passes when every expectation holds; the words say what was wanted and what was seen.
export function judgeRun(check: RunCheck, r: ExecResult): Verdict {
  if (r.timedOut) {
    return { pass: false, expected: describeRun(check), got: `timed out after ${Math.round(check.timeout / 1000)} s` };
  }
  const parts: Verdict[] = [];
  const code = check.expect.exitCode;
  if (code !== 'any') {
    parts.push({ pass: r.exitCode === code, expected: `exit code ${code}`, got: `exit code ${r.exitCode}` + (r.exitCode !== code && r.stderr.trim() ? `, stderr: ${JSON.stringify(clip(r.stderr.trim()))}` : '') });
  }
  for (const v of [textVerdict('stdout', check.expect.stdout, r.stdout), textVerdict('stderr', check.expect.stderr, r.stderr)]) {
    if (v) parts.push(v);
  }
  const failed = parts.filter((p) => !p.pass);
  return {
    pass: failed.length === 0,
    expected: parts.map((p) => p.expected).join('; ') || 'the command runs',
    got: (failed.length ? failed : parts).map((p) => p.got).join('; ') || `exit code ${r.exitCode}`,
  };
}

export function describeRun(check: RunCheck): string {
  const v = judgeRun(check, { exitCode: 0, stdout: '', stderr: '', durationMs: 0, timedOut: false, truncated: false });
  return v.expected;
}

export function judgeCapture(check: CaptureCheck, count: number): Verdict {
  const { packets, atLeast, atMost } = check.expect;
  const what = packets ? `packets matching '${packets}'` : 'packets';
  const range = atMost !== undefined ? `${atLeast}–${atMost} ${what}` : `≥ ${atLeast} ${what}`;
  const pass = count >= atLeast && (atMost === undefined || count <= atMost);
  return { pass, expected: `${range} on capture ${check.capture}`, got: `${count} ${what}` };
}

export function totals(checks: CheckResult[]): { score: number; maxScore: number } {
  let score = 0;
  let maxScore = 0;
  for (const c of checks) {
    if (c.status === 'skipped') continue;
    score += c.points;
    maxScore += c.maxPoints;
  }
  return { score, maxScore };
}
