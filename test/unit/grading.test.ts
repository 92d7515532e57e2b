// Grading beyond all-or-nothing: group caps, partial credit (lines, fractions), and the lab-file
// rules that come with them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CheckResult } from '../../reports/model.ts';
import { judgePartial, parseFraction, pointsFor, totals } from '../../runner/lab/grade.ts';
import { checkLab, type RunCheck } from '../../runner/lab/schema.ts';
import type { ExecResult } from '../../vm/types.ts';

const res = (r: Partial<ExecResult>): ExecResult => ({ exitCode: 0, stdout: '', stderr: '', durationMs: 1, timedOut: false, truncated: false, ...r });
const partial = (p: RunCheck['partial'], points = 2): RunCheck => ({
  kind: 'run', id: 'p', name: 'p', on: 'host', run: 'x', timeout: 30_000, interval: 1000, points, visibility: 'visible', expect: { exitCode: 0 }, partial: p,
} as RunCheck);
const cr = (id: string, points: number, maxPoints: number, group?: string, status: CheckResult['status'] = points === maxPoints ? 'passed' : 'failed'): CheckResult =>
  ({ id, name: id, status, points, maxPoints, visibility: 'visible', expected: '', got: '', durationMs: 0, commands: [], ...(group ? { group } : {}) });

test('a group counts at most its max, in the score and in the maximum', () => {
  const checks = [cr('a', 1, 1), cr('b', 3, 3, 'reach'), cr('c', 2, 2, 'reach'), cr('d', 0, 1, 'reach')];
  assert.deepEqual(totals(checks, { reach: { max: 5 } }), { score: 6, maxScore: 6, groups: [{ name: 'reach', cap: 5, points: 5, maxPoints: 5 }] });
  // Under the cap, points add up as usual; a group with no check in the run is not listed.
  assert.deepEqual(totals([cr('b', 0, 3, 'reach'), cr('c', 2, 2, 'reach')], { reach: { max: 5 }, other: { max: 1 } }),
    { score: 2, maxScore: 5, groups: [{ name: 'reach', cap: 5, points: 2, maxPoints: 5 }] });
  // A group named by checks but not capped (no such group) adds up plainly; skipped checks count for nothing.
  assert.deepEqual(totals([cr('x', 1, 1, 'nogroup'), cr('y', 0, 4, undefined, 'skipped')]), { score: 1, maxScore: 1, groups: [] });
});

test('fractions: "3/4", "0.75", "75%"; anything else is not one', () => {
  assert.equal(parseFraction('3/4'), 0.75);
  assert.equal(parseFraction(' 1 / 2 '), 0.5);
  assert.equal(parseFraction('0.75'), 0.75);
  assert.equal(parseFraction('75%'), 0.75);
  for (const bad of ['', 'three', '1/0', '-1/2', 'a/b', '1/2 done']) assert.equal(parseFraction(bad), undefined, bad);
  // Above 1 is not a share: a bare count must not round up to full marks.
  for (const over of ['2', '1.5', '5/4', '150%']) assert.equal(parseFraction(over), undefined, over);
  assert.equal(parseFraction('1'), 1);
  assert.equal(parseFraction('100%'), 1);
});

test('partial by lines: each matching stdout line earns points/of, at most of lines count', () => {
  const c = partial({ lines: '^ok ', of: 4 }, 2);
  const v = judgePartial(c, res({ stdout: 'ok a\nnot ok b\nok c\n', exitCode: 1 }));
  assert.deepEqual([v.pass, v.fraction, pointsFor(2, v)], [false, 0.5, 1]);
  assert.match(v.expected, /4 lines of stdout matching \/\^ok \/ \(each worth 0\.5 points\)/);
  assert.equal(v.got, '2 lines of stdout matched');
  const all = judgePartial(c, res({ stdout: 'ok\nok 1\nok 2\nok 3\nok 4\nok 5\n' }));
  assert.deepEqual([all.pass, all.fraction, pointsFor(2, all)], [true, 1, 2]);
});

test('partial by fraction: the last stdout line, a share from 0 to 1; above 1, garbage or a timeout earns 0', () => {
  const c = partial('fraction', 3);
  const v = judgePartial(c, res({ stdout: 'checking…\n2/3\n' }));
  assert.deepEqual([v.pass, pointsFor(3, v)], [false, 2]);
  assert.equal(pointsFor(3, judgePartial(c, res({ stdout: '5/4' }))), 0);
  assert.equal(pointsFor(3, judgePartial(c, res({ stdout: 'ok\n2\n' }))), 0);
  assert.match(judgePartial(c, res({ stdout: '2' })).got, /not a share between 0 and 1: "2"/);
  const junk = judgePartial(c, res({ stdout: 'all good' }));
  assert.deepEqual([junk.pass, pointsFor(3, junk)], [false, 0]);
  assert.match(junk.got, /not a share between 0 and 1: "all good"/);
  const late = judgePartial(c, res({ stdout: '3/3', timedOut: true, exitCode: null }));
  assert.deepEqual([late.pass, pointsFor(3, late)], [false, 0]);
  // Rounded to hundredths: 2 × 1/3.
  assert.equal(pointsFor(2, judgePartial(c, res({ stdout: '1/3' }))), 0.67);
});

const lab = (checks: unknown[], extra: Record<string, unknown> = {}) => checkLab({ name: 'l', title: 'L', machines: { host: null }, checks, ...extra });

test('lab files: groups are declared, partial comes without expect, its regex compiles', () => {
  const ok = lab([{ name: 'a', on: 'host', run: 'x', group: 'g', partial: { lines: '^ok', of: 2 } }, { name: 'b', on: 'host', run: 'y', partial: 'fraction' }], { groups: { g: { max: 1 } } });
  assert.ok(ok.ok, JSON.stringify(!ok.ok && ok.issues));
  assert.deepEqual(ok.lab.groups, { g: { max: 1 } });
  // Shapes first (as for every field); references and rules once the shapes are right.
  const shapes = lab([
    { name: 'd', on: 'host', run: 'x', partial: { lines: 'x', of: 0 } },
    { name: 'e', on: 'host', run: 'x', partial: 'half' },
  ]);
  assert.ok(!shapes.ok);
  assert.deepEqual(shapes.issues.map((i) => `${i.path.join('.')}: ${i.message}`), [
    'checks.0.partial.of: expected a number ≥ 1, found 0',
    'checks.1.partial: expected "fraction", or { lines: <regex>, of: <count> }, found "half"',
  ]);
  const bad = lab([
    { name: 'a', on: 'host', run: 'x', group: 'gg' },
    { name: 'b', on: 'host', run: 'x', partial: 'fraction', expect: { stdout: { contains: 'x' } } },
    { name: 'c', on: 'host', run: 'x', partial: { lines: '(', of: 2 } },
  ], { groups: { g: { max: 1 } } });
  assert.ok(!bad.ok);
  const said = bad.issues.map((i) => `${i.path.join('.')}: ${i.message}${i.fix ? ` (${i.fix})` : ''}`);
  assert.ok(said.some((m) => /^checks\.0\.group: no group named "gg"; this lab's groups are "g" \(did you mean "g"\?\)/.test(m)), said.join('\n'));
  assert.ok(said.some((m) => /^checks\.1\.partial: partial and expect exclude each other/.test(m)), said.join('\n'));
  assert.ok(said.some((m) => /^checks\.2\.partial\.lines: not a valid regular expression/.test(m)), said.join('\n'));
  const noGroups = lab([{ name: 'a', on: 'host', run: 'x', group: 'g' }]);
  assert.ok(!noGroups.ok && noGroups.issues.some((i) => /this lab declares no groups/.test(i.message)));
});
