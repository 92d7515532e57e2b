import { test } from 'node:test';
import assert from 'node:assert/strict';
import { judgeCapture, judgeRun, totals } from '../../runner/lab/grade.ts';
import type { CaptureCheck, RunCheck } from '../../runner/lab/schema.ts';
import type { ExecResult } from '../../vm/types.ts';

const check = (expect: Partial<RunCheck['expect']>): RunCheck => ({
  kind: 'run', id: 'c', name: 'c', on: 'host', run: 'true', timeout: 30_000, interval: 1000, points: 2,
  visibility: 'visible', expect: { exitCode: 0, ...expect },
} as RunCheck);
const res = (r: Partial<ExecResult>): ExecResult => ({ exitCode: 0, stdout: '', stderr: '', durationMs: 1, timedOut: false, truncated: false, ...r });

test('exit code decides by default and the words say what was seen', () => {
  assert.equal(judgeRun(check({}), res({})).pass, true);
  const v = judgeRun(check({}), res({ exitCode: 1, stderr: 'Cannot find device "br00"' }));
  assert.equal(v.pass, false);
  assert.equal(v.expected, 'exit code 0');
  assert.match(v.got, /exit code 1, stderr: "Cannot find device \\"br00\\""/);
});

test('stdout contains (all of a list), matches, equals', () => {
  assert.equal(judgeRun(check({ stdout: { contains: ['a', 'b'] } }), res({ stdout: 'a b' })).pass, true);
  const miss = judgeRun(check({ stdout: { contains: ['a', 'zz'] } }), res({ stdout: 'a b' }));
  assert.equal(miss.pass, false);
  assert.match(miss.got, /lacks "zz"/);
  assert.equal(judgeRun(check({ stdout: { matches: '^x\\d$' } }), res({ stdout: 'y\nx5\n' })).pass, true);
  assert.equal(judgeRun(check({ stdout: { equals: 'ok' } }), res({ stdout: ' ok\n' })).pass, true);
});

test('exitCode any ignores the code; a timeout always fails', () => {
  assert.equal(judgeRun(check({ exitCode: 'any', stdout: { contains: 'x' } }), res({ exitCode: 3, stdout: 'x' })).pass, true);
  const t = judgeRun(check({}), res({ exitCode: null, timedOut: true }));
  assert.equal(t.pass, false);
  assert.match(t.got, /timed out after 30 s/);
});

test('capture counts within bounds', () => {
  const c = { kind: 'capture', capture: 'br', expect: { packets: 'arp', atLeast: 2 } } as CaptureCheck;
  assert.equal(judgeCapture(c, 2).pass, true);
  assert.equal(judgeCapture(c, 1).pass, false);
  assert.equal(judgeCapture({ ...c, expect: { packets: 'arp', atLeast: 0, atMost: 0 } }, 1).pass, false);
  assert.match(judgeCapture(c, 1).expected, /≥ 2 packets matching 'arp' on capture br/);
});

test('totals skip skipped checks', () => {
  const base = { id: 'x', name: 'x', visibility: 'visible' as const, expected: '', got: '', durationMs: 0, commands: [] };
  assert.deepEqual(totals([
    { ...base, status: 'passed', points: 2, maxPoints: 2 },
    { ...base, status: 'failed', points: 0, maxPoints: 3 },
    { ...base, status: 'skipped', points: 0, maxPoints: 5 },
  ]), { score: 2, maxScore: 5, groups: [] });
});
