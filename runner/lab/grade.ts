import type { CheckResult, GroupResult } from '../../reports/model.ts';
import type { ExecResult } from '../../vm/types.ts';
import type { CaptureCheck, RunCheck, TextExpect } from './schema.ts';

export interface Verdict {
  pass: boolean;
  expected: string;
  got: string;
  /** Share of the check's points earned (partial credit), 0..1; without it, all or nothing. */
  fraction?: number;
}

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

// Points earned for a verdict: all or nothing, or the verdict's share (rounded to 0.01).
export function pointsFor(points: number, v: Verdict): number {
  if (v.fraction === undefined) return v.pass ? points : 0;
  return round2(points * Math.max(0, Math.min(1, v.fraction)));
}

const round2 = (n: number) => Math.round(n * 100) / 100;

// "3/4", "0.75", "75%" → 0.75; anything else → undefined.
// A share above 1 is no share: a bare "2" (2 of what?) or "5/4" earns nothing rather than full marks,
// so a checker's stray count or a student's echo cannot round up to 100 %.
export function parseFraction(text: string): number | undefined {
  const t = text.trim();
  let f: number | undefined;
  let m = /^(\d+(?:\.\d+)?)\s*\/\s*(\d+(?:\.\d+)?)$/.exec(t);
  if (m) f = Number(m[2]) > 0 ? Number(m[1]) / Number(m[2]) : undefined;
  else if ((m = /^(\d+(?:\.\d+)?)\s*%$/.exec(t))) f = Number(m[1]) / 100;
  else if ((m = /^(\d*\.?\d+)$/.exec(t))) f = Number(m[1]);
  return f !== undefined && f <= 1 ? f : undefined;
}

// A check with `partial` earns a share of its points from its stdout (its exit code does not matter):
// lines matching a regular expression out of `of`, or a fraction on the last line. It passes with all.
export function judgePartial(check: RunCheck, r: ExecResult): Verdict {
  const partial = check.partial!;
  if (r.timedOut) return { pass: false, fraction: 0, expected: describePartial(check), got: `timed out after ${Math.round(check.timeout / 1000)} s` };
  if (partial === 'fraction') {
    const last = r.stdout.trimEnd().split('\n').at(-1) ?? '';
    const f = parseFraction(last);
    if (f === undefined) return { pass: false, fraction: 0, expected: describePartial(check), got: `the last line of stdout is not a share between 0 and 1: ${JSON.stringify(clip(last.trim()))}` };
    const fraction = Math.max(0, Math.min(1, f));
    return { pass: fraction >= 1, fraction, expected: describePartial(check), got: `${JSON.stringify(last.trim())}: ${Math.round(fraction * 100)}%` };
  }
  const re = new RegExp(partial.lines);
  const count = r.stdout.split('\n').filter((l) => re.test(l)).length;
  const fraction = Math.min(count, partial.of) / partial.of;
  return { pass: fraction >= 1, fraction, expected: describePartial(check), got: `${count} line${count === 1 ? '' : 's'} of stdout matched` };
}

function describePartial(check: RunCheck): string {
  const p = check.partial!;
  return p === 'fraction'
    ? 'the last line of stdout gives the share of the points (3/4, 0.75 or 75%)'
    : `${p.of} line${p.of === 1 ? '' : 's'} of stdout matching /${p.lines}/ (each worth ${round2(check.points / p.of)} point${check.points / p.of === 1 ? '' : 's'})`;
}

/** Lab groups, by name: the most their checks' points together may count. */
export type GroupCaps = Record<string, { max: number }>;

// The run's score and maximum: checks add up, except that each group's sum is capped at its max.
// Skipped checks count for neither.
export function totals(checks: CheckResult[], caps: GroupCaps = {}): { score: number; maxScore: number; groups: GroupResult[] } {
  let score = 0;
  let maxScore = 0;
  const sums = new Map<string, { points: number; maxPoints: number }>();
  for (const c of checks) {
    if (c.status === 'skipped') continue;
    const cap = c.group !== undefined ? caps[c.group] : undefined;
    if (!cap) { score += c.points; maxScore += c.maxPoints; continue; }
    const g = sums.get(c.group!) ?? { points: 0, maxPoints: 0 };
    g.points += c.points;
    g.maxPoints += c.maxPoints;
    sums.set(c.group!, g);
  }
  const groups: GroupResult[] = [];
  for (const [name, cap] of Object.entries(caps)) {
    const g = sums.get(name);
    if (!g) continue;
    const capped = { name, cap: cap.max, points: round2(Math.min(g.points, cap.max)), maxPoints: round2(Math.min(g.maxPoints, cap.max)) };
    score += capped.points;
    maxScore += capped.maxPoints;
    groups.push(capped);
  }
  return { score: round2(score), maxScore: round2(maxScore), groups };
}
