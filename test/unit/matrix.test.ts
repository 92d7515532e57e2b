// The kernel matrix: cells from summaries, the baseline comparison (regressed, fixed, known, new,
// missing; per check), the exit codes it makes, the terminal lines and the self-contained page.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderMatrixHtml } from '../../reports/matrix-html.ts';
import { buildMatrix, canonicalKernel, cellStatus, compareWithBaseline, formatMatrixTerminal, parseBaseline, type Matrix, type MatrixInput } from '../../reports/matrix.ts';
import type { Summary } from '../../reports/summary.ts';
import { matrixExitCode } from '../../runner/orchestrate/matrix-run.ts';
import { parseShard, unitsOfJsonReport } from '../../runner/orchestrate/shard.ts';

type Checks = Record<string, 'passed' | 'failed' | 'skipped' | 'error'>;

function summary(lab: string, kernel: string, version: string, checks: Checks, status?: Summary['status']): Summary {
  const ids = Object.keys(checks);
  const score = ids.filter((id) => checks[id] === 'passed').length;
  return {
    schemaVersion: 1, lab: { name: lab, title: `The ${lab} lab` }, kernel: { name: kernel, version }, imageRecipeHash: 'abc123', accel: 'tcg',
    submission: null, startedAt: '2026-01-02T03:04:05.000Z',
    status: status ?? (ids.every((id) => checks[id] === 'passed' || checks[id] === 'skipped') ? 'passed' : 'failed'),
    score, maxScore: ids.length, durationMs: 1234,
    checks: ids.map((id) => ({ id, name: id, status: checks[id]!, points: checks[id] === 'passed' ? 1 : 0, maxPoints: 1, durationMs: 10, visibility: 'visible' as const })),
    captures: [],
  };
}
const input = (unit: string, s: Summary): MatrixInput => ({ unit, summary: s, report: `${unit}/index.html` });

// Four cells given in a shuffled order: bridge and veth on bookworm and bullseye.
function fourCells(): Matrix {
  return buildMatrix([
    input('veth@debian-bookworm', summary('veth', 'debian:bookworm', '6.1.0-50-cloud-amd64', { a: 'passed', b: 'passed' })),
    input('bridge@debian-bookworm', summary('bridge', 'debian:bookworm', '6.1.0-50-cloud-amd64', { x: 'passed', y: 'failed' })),
    input('veth@debian-bullseye', summary('veth', 'debian:bullseye', '5.10.0-32-cloud-amd64', { a: 'passed', b: 'failed' })),
    input('bridge@debian-bullseye', summary('bridge', 'debian:bullseye', '5.10.0-32-cloud-amd64', { x: 'error', y: 'error' }, 'error')),
  ], '2026-01-02T00:00:00.000Z');
}

test('the matrix sorts labs by name and kernels oldest release first, whatever order the units came in', () => {
  const m = fourCells();
  assert.deepEqual(m.labs.map((l) => l.name), ['bridge', 'veth']);
  assert.deepEqual(m.kernels, [{ name: 'debian:bullseye', versions: ['5.10.0-32-cloud-amd64'] }, { name: 'debian:bookworm', versions: ['6.1.0-50-cloud-amd64'] }]);
  assert.deepEqual(m.cells.map((c) => c.unit), ['bridge@debian-bullseye', 'bridge@debian-bookworm', 'veth@debian-bullseye', 'veth@debian-bookworm']);
  assert.deepEqual(m.totals, { pass: 1, fail: 2, skip: 0, error: 1 });
  const c = m.cells[2]!;
  assert.deepEqual({ ...c }, {
    unit: 'veth@debian-bullseye', lab: 'veth', labTitle: 'The veth lab', kernel: 'debian:bullseye', kernelVersion: '5.10.0-32-cloud-amd64',
    imageRecipeHash: 'abc123', status: 'fail', score: 1, maxScore: 2, durationMs: 1234, failedChecks: ['b'], checks: { a: 'passed', b: 'failed' },
    report: 'veth@debian-bullseye/index.html',
  });
  assert.equal(m.format, 'netlab-run matrix');
});

test('a cell is skip when every check was skipped, error on an infrastructure error', () => {
  assert.equal(cellStatus(summary('l', 'k', 'v', { a: 'skipped', b: 'skipped' })), 'skip');
  assert.equal(cellStatus(summary('l', 'k', 'v', { a: 'skipped', b: 'passed' })), 'pass');
  assert.equal(cellStatus(summary('l', 'k', 'v', { a: 'error' }, 'error')), 'error');
  assert.equal(canonicalKernel('debian:trixie:cloud'), 'debian:trixie');
  assert.equal(canonicalKernel('debian:trixie:generic'), 'debian:trixie:generic');
});

test('compared with a baseline: regressed, fixed, known, new and missing cells, and checks that changed', () => {
  const baseline = parseBaseline({
    cells: [
      { lab: 'bridge', kernel: 'debian:bullseye', status: 'pass', checks: { x: 'passed', y: 'passed' } }, // → error: regressed
      { lab: 'bridge', kernel: 'debian:bookworm:cloud', status: 'fail', checks: { x: 'failed', y: 'failed' } }, // x fixed, y still failing: known
      { lab: 'veth', kernel: 'debian:bullseye', status: 'fail', checks: { a: 'failed', b: 'passed' } }, // a fixed, b newly failing: regressed (checks)
      { lab: 'nat', kernel: 'debian:bookworm', status: 'pass', checks: {} }, // not run now
    ],
  }, 'last/matrix.json');
  const m = compareWithBaseline(fourCells(), baseline);
  const b = m.baseline!;
  assert.deepEqual(b.regressed.map((r) => [r.unit, r.was, r.now, r.checks]), [
    ['bridge@debian-bullseye', 'pass', 'error', ['x', 'y']],
    ['veth@debian-bullseye', 'fail', 'fail', ['b']],
  ]);
  assert.deepEqual(b.known.map((r) => [r.unit, r.checks]), [['bridge@debian-bookworm', ['y']]]);
  assert.deepEqual(b.fixed, []);
  assert.deepEqual(b.newFailures, []);
  assert.deepEqual(b.missing, [{ lab: 'nat', kernel: 'debian:bookworm', was: 'pass' }]);
  const by = Object.fromEntries(m.cells.map((c) => [c.unit, c.change]));
  assert.deepEqual(by['bridge@debian-bullseye'], { was: 'pass', mark: 'regressed', regressedChecks: ['x', 'y'], fixedChecks: [] });
  assert.deepEqual(by['bridge@debian-bookworm'], { was: 'fail', mark: 'known', regressedChecks: [], fixedChecks: ['x'] });
  assert.deepEqual(by['veth@debian-bullseye'], { was: 'fail', mark: 'known', regressedChecks: ['b'], fixedChecks: ['a'] });
  assert.deepEqual(by['veth@debian-bookworm'], { was: 'absent', mark: 'new', regressedChecks: [], fixedChecks: [] });
  assert.equal(matrixExitCode(1, m, true), 1, 'regressions fail the run even with --allow-known');
});

test('a fixed cell, and the exit codes: known failures only → 1, or 0 with --allow-known; new failures → 1; infrastructure → 69', () => {
  const now = buildMatrix([
    input('kver@debian-bullseye', summary('kver', 'debian:bullseye', '5.10', { u: 'passed', six: 'failed' })),
    input('kver@debian-bookworm', summary('kver', 'debian:bookworm', '6.1', { u: 'passed', six: 'passed' })),
  ]);
  const known = compareWithBaseline(now, parseBaseline({ cells: [
    { lab: 'kver', kernel: 'debian:bullseye', status: 'fail', checks: { u: 'passed', six: 'failed' } },
    { lab: 'kver', kernel: 'debian:bookworm', status: 'fail', checks: { u: 'passed', six: 'failed' } },
  ] }, 'b.json'));
  assert.deepEqual(known.baseline!.fixed.map((r) => [r.unit, r.was, r.now, r.checks]), [['kver@debian-bookworm', 'fail', 'pass', ['six']]]);
  assert.deepEqual(known.baseline!.known.map((r) => r.unit), ['kver@debian-bullseye']);
  assert.equal(matrixExitCode(1, known, false), 1);
  assert.equal(matrixExitCode(1, known, true), 0);
  assert.equal(matrixExitCode(130, known, true), 130, 'an interrupted run stays interrupted');
  // Only the bookworm cell in the baseline: the bullseye failure is new, --allow-known does not cover it.
  const fresh = compareWithBaseline(now, parseBaseline({ cells: [{ lab: 'kver', kernel: 'debian:bookworm', status: 'pass', checks: {} }] }, 'b.json'));
  assert.deepEqual(fresh.baseline!.newFailures.map((r) => r.unit), ['kver@debian-bullseye']);
  assert.equal(matrixExitCode(1, fresh, true), 1);
  // Everything passes: 0 whatever the baseline said.
  const green = compareWithBaseline(buildMatrix([input('kver@debian-bookworm', summary('kver', 'debian:bookworm', '6.1', { u: 'passed' }))]),
    parseBaseline({ cells: [] }, 'b.json'));
  assert.equal(matrixExitCode(0, green, false), 0);
  // Units that never reported (exit 69 without an error cell) stay 69; without a baseline the run's code stands.
  assert.equal(matrixExitCode(69, green, true), 69);
  assert.equal(matrixExitCode(1, now, true), 1);
});

test('a summary.json is a one-cell baseline; anything else is refused with a reason', () => {
  const s = summary('kver', 'debian:bullseye', '5.10', { u: 'passed', six: 'failed' });
  const b = parseBaseline(JSON.parse(JSON.stringify(s)), 'summary.json');
  assert.deepEqual(b.cells, [{ lab: 'kver', kernel: 'debian:bullseye', status: 'fail', checks: { u: 'passed', six: 'failed' } }]);
  assert.equal(b.generatedAt, '2026-01-02T03:04:05.000Z');
  assert.throws(() => parseBaseline({ x: 1 }, 'x.json'), /x\.json is neither a matrix\.json .* nor a summary\.json/);
  assert.throws(() => parseBaseline({ cells: [{ lab: 'a' }] }, 'm.json'), /cells\[0\] lacks lab, kernel or status/);
  // A matrix.json round-trips as a baseline.
  const m = fourCells();
  assert.equal(parseBaseline(JSON.parse(JSON.stringify(m)), 'm.json').cells.length, 4);
});

test('terminal lines: the grid with versions, then regressed and fixed', () => {
  const m = compareWithBaseline(fourCells(), parseBaseline({ cells: [
    { lab: 'bridge', kernel: 'debian:bullseye', status: 'pass', checks: { x: 'passed', y: 'passed' } },
    { lab: 'veth', kernel: 'debian:bookworm', status: 'fail', checks: { a: 'passed', b: 'failed' } },
  ] }, 'last/matrix.json'));
  const text = formatMatrixTerminal(m, { color: false, path: 'out/matrix.html' });
  assert.match(text, /Kernel matrix: 2 labs × 2 kernels: 1 pass, 2 fail, 1 error/);
  assert.match(text, /debian:bullseye\s+debian:bookworm/);
  assert.match(text, /5\.10\.0-32-cloud-amd64\s+6\.1\.0-50-cloud-amd64/);
  assert.match(text, /bridge\s+error 0\/2 ▼\s+fail 1\/2/);
  assert.match(text, /veth\s+fail 1\/2\s+pass 2\/2 ▲/);
  assert.match(text, /regressed: bridge on debian:bullseye \(pass → error; now failing: x, y\)/);
  assert.match(text, /fixed: veth on debian:bookworm \(fail → pass; passing again: b\)/);
  assert.match(text, /matrix: out\/matrix\.html$/);
  assert.doesNotMatch(text, /\x1b\[/);
});

test('matrix.html: self-contained, one linked cell per lab × kernel, marks, escaped text', () => {
  const m = compareWithBaseline(buildMatrix([
    input('x@k1', summary('<script>', 'debian:bookworm', '6.1', { a: 'failed' })),
    input('x@k2', summary('<script>', 'debian:trixie', '6.12', { a: 'passed' })),
  ]), parseBaseline({ cells: [{ lab: '<script>', kernel: 'debian:bookworm', status: 'pass', checks: { a: 'passed' } }] }, 'b.json'));
  const html = renderMatrixHtml(m);
  assert.doesNotMatch(html, /<script>/);
  assert.match(html, /&lt;script&gt;/);
  assert.doesNotMatch(html, /(src|href)="(https?:)?\/\//);
  assert.match(html, /Content-Security-Policy" content="default-src 'none'/);
  assert.equal(html.match(/data-testid="cell"/g)?.length, 2);
  assert.match(html, /<a href="x%40k1\/index.html"/);
  assert.match(html, /data-status="fail" data-change="regressed"/);
  assert.match(html, /▼ regressed/);
  assert.match(html, /6\.12/);
  // A lab × kernel the run did not have is an empty cell, not a missing column.
  const sparse = buildMatrix([input('a@k1', summary('a', 'debian:bookworm', '6.1', { c: 'passed' })), input('b@k2', summary('b', 'debian:sid', '7.0', { c: 'passed' }))]);
  assert.equal(renderMatrixHtml(sparse).match(/data-status="none"/g)?.length, 2);
});

test('--shard takes i/n; shards are whole units, read from Playwright\'s --list JSON', () => {
  assert.deepEqual(parseShard('2/4'), { current: 2, total: 4 });
  for (const bad of ['0/2', '3/2', '1', 'a/b', '1/0']) assert.throws(() => parseShard(bad), /--shard takes i\/n/);
  const tagged = (unit: string) => ({ annotations: [{ type: 'netlab-kind', description: 'check' }, { type: 'netlab-unit', description: unit }] });
  const report = { suites: [
    { specs: [], suites: [{ specs: [{ tests: [tagged('bridge@debian-bullseye')] }] }] },
    { specs: [{ tests: [tagged('veth@debian-bullseye')] }, { tests: [tagged('veth@debian-bullseye'), { annotations: [] }] }] },
  ] };
  assert.deepEqual(unitsOfJsonReport(report), ['bridge@debian-bullseye', 'veth@debian-bullseye']);
});
