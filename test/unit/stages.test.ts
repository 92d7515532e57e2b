// Submissions in stages (submission.stages, check.stage) and on several machines (submission.on as a
// list): the format, load-time errors with file:line, the order tests run in, and how the reporter
// files a stage's commands with the setup.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FullConfig, FullResult, TestCase, TestResult } from '@playwright/test/reporter';
import { LabError, loadLab } from '../../runner/lab/load.ts';
import NetlabReporter, { type UnitMeta } from '../../runner/playwright/netlab-reporter.ts';
import { runOrder, submissionMachines, submissionStages } from '../../runner/lab/plan.ts';
import { formatPath, type Lab } from '../../runner/lab/schema.ts';
import type { CheckResult, CommandRecord, RunResult } from '../../reports/model.ts';
import { labIssues, validLab } from '../helpers/schema.ts';

const staged = () => ({
  name: 'nat',
  title: 'T',
  machines: { host: null, outside: null },
  submission: {
    file: 'nat.sh', on: 'host', timeout: '90s',
    stages: [
      { name: 'no-nat', run: 'bash nat.sh 1' },
      { name: 'masquerade', run: 'bash nat.sh 2', timeout: '10s' },
      { name: 'publish', run: 'bash nat.sh 3' },
    ],
  } as Record<string, any>,
  checks: [
    { name: 'a', on: 'host', run: 'true' },
    { name: 'b', on: 'host', run: 'true', stage: 'no-nat' },
    { name: 'c', on: 'host', run: 'true', stage: 'masquerade' },
    { name: 'd', on: 'host', run: 'true', stage: 'masquerade' },
    { name: 'e', on: 'host', run: 'true', stage: 'publish' },
  ] as Record<string, unknown>[],
}) as Record<string, any>;

const order = (lab: Lab) => runOrder(lab).map((x) => ('stage' in x ? `stage:${x.stage.name}` : x.check.name));

test('stages: defaults, timeouts, and the order tests run in', () => {
  const lab = validLab(staged());
  assert.deepEqual(submissionStages(lab.submission!), [
    { name: 'no-nat', run: 'bash nat.sh 1', timeout: 90_000 },
    { name: 'masquerade', run: 'bash nat.sh 2', timeout: 10_000 },
    { name: 'publish', run: 'bash nat.sh 3', timeout: 90_000 },
  ]);
  assert.deepEqual(submissionMachines(lab.submission!), ['host']);
  assert.equal(lab.checks[0]!.stage, undefined);
  // The first stage runs in setup; the others just before their first check.
  assert.deepEqual(order(lab), ['a', 'b', 'stage:masquerade', 'c', 'd', 'stage:publish', 'e']);
});

test('stages no check names still run, in order: skipped ones before a later check, trailing ones at the end', () => {
  const l = staged();
  l.checks = [{ name: 'a', on: 'host', run: 'true' }, { name: 'e', on: 'host', run: 'true', stage: 'publish' }];
  assert.deepEqual(order(validLab(l)), ['a', 'stage:masquerade', 'stage:publish', 'e']);
  l.checks = [{ name: 'a', on: 'host', run: 'true' }];
  assert.deepEqual(order(validLab(l)), ['a', 'stage:masquerade', 'stage:publish']);
});

test('a run submission is one stage, runs in setup, and keeps its shape', () => {
  const l = staged();
  l.submission = { file: 'a.sh', run: 'bash a.sh', on: 'host' };
  l.checks = [{ name: 'a', on: 'host', run: 'true' }, { name: 'b', on: 'host', run: 'true' }];
  const lab = validLab(l);
  assert.deepEqual(lab.submission, { file: 'a.sh', run: 'bash a.sh', on: 'host', timeout: 120_000, keep: [] });
  assert.deepEqual(submissionStages(lab.submission!), [{ name: 'submission', run: 'bash a.sh', timeout: 120_000 }]);
  assert.deepEqual(order(lab), ['a', 'b']);
});

test('exactly one of run and stages', () => {
  const l = staged();
  l.submission.run = 'bash nat.sh';
  let list = labIssues(l);
  assert.equal(list.length, 1);
  assert.equal(formatPath(list[0]!.path), 'submission');
  assert.match(list[0]!.message, /expected run or stages, found both/);
  delete l.submission.run;
  delete l.submission.stages;
  list = labIssues(l);
  assert.equal(formatPath(list[0]!.path), 'submission');
  assert.match(list[0]!.message, /expected run \(one command\) or stages .*found neither/);
  l.submission.stages = [];
  assert.match(labIssues(l)[0]!.message, /expected at least 1 item/);
});

test('a check names a declared stage; stage names are unique', () => {
  const l = staged();
  l.checks[2]!.stage = 'masquerad';
  l.submission.stages.push({ name: 'publish', run: 'x' });
  const list = labIssues(l);
  const at = (p: string) => list.find((i) => formatPath(i.path) === p);
  assert.match(at('checks[2].stage')!.message, /no stage named "masquerad"; this lab's stages are "no-nat", "masquerade", "publish"/);
  assert.equal(at('checks[2].stage')!.fix, 'did you mean "masquerade"?');
  assert.match(at('submission.stages[3].name')!.message, /duplicate stage name "publish"/);

  const r = staged();
  r.submission = { file: 'a.sh', run: 'bash a.sh', on: 'host' };
  r.checks = [{ name: 'a', on: 'host', run: 'true', stage: 'x' }];
  assert.match(labIssues(r)[0]!.message, /stage "x" given, but the submission has no stages \(it uses run\)/);
});

test('checks are ordered by stage: an earlier stage after a later one is an error', () => {
  const l = staged();
  l.checks.push({ name: 'f', on: 'host', run: 'true', stage: 'masquerade' }, { name: 'g', on: 'host', run: 'true' });
  const list = labIssues(l);
  assert.equal(list.length, 2);
  assert.equal(formatPath(list[0]!.path), 'checks[5].stage');
  assert.match(list[0]!.message, /stage "masquerade", but it comes after checks\[4\] of the later stage "publish"/);
  // No stage means the first stage, so a check without one cannot follow a later stage's checks.
  assert.equal(formatPath(list[1]!.path), 'checks[6]');
  assert.match(list[1]!.message, /no stage given, so this check belongs to the first stage "no-nat", but it comes after checks\[4\]/);
  assert.match(list[1]!.fix!, /add stage: publish/);
});

test('submission.on takes a list of machines: each must exist, once', () => {
  const l = staged();
  l.submission.on = ['host', 'outside'];
  assert.deepEqual(submissionMachines(validLab(l).submission!), ['host', 'outside']);
  l.submission.on = ['host', 'outsid', 'host'];
  const list = labIssues(l);
  assert.deepEqual(list.map((i) => formatPath(i.path)), ['submission.on[1]', 'submission.on[2]']);
  assert.equal(list[0]!.fix, 'did you mean "outside"?');
  assert.match(list[1]!.message, /machine "host" is listed twice/);
  l.submission.on = [];
  assert.match(labIssues(l)[0]!.message, /expected a machine name, or a list of machine names|at least 1 item/);
});

test('stage errors in a lab file point at file:line', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'netlab-stages-'));
  await mkdir(join(dir, 'solution'));
  await writeFile(join(dir, 'solution', 'nat.sh'), 'true\n');
  const yaml = `name: nat
title: T
machines: { host: }
submission:
  file: nat.sh
  on: host
  reference: solution/nat.sh
  stages:
    - { name: one, run: bash nat.sh 1 }
    - { name: two, run: bash nat.sh 2 }
checks:
  - { name: a, on: host, run: "true", stage: two }
  - name: b
    on: host
    run: "true"
    stage: one
  - { name: c, on: host, run: "true", stage: three }
`;
  await writeFile(join(dir, 'lab.yaml'), yaml);
  let err: unknown;
  try { await loadLab(dir); } catch (e) { err = e; }
  assert.ok(err instanceof LabError, String(err));
  assert.equal(err.issues.length, 2);
  assert.equal(err.issues[0]!.line, 16);
  assert.equal(err.issues[0]!.path, 'checks[1].stage');
  assert.match(err.message, /lab\.yaml:16:12: checks\[1\]\.stage: stage "one", but it comes after checks\[0\] of the later stage "two"/);
  assert.equal(err.issues[1]!.line, 17);
  assert.match(err.issues[1]!.message, /no stage named "three"/);

  await writeFile(join(dir, 'lab.yaml'), yaml.replace('stage: one', 'stage: two').replace(', stage: three', ''));
  await assert.rejects(loadLab(dir), /checks\[2\]: no stage given, so this check belongs to the first stage "one"/);
  await writeFile(join(dir, 'lab.yaml'), yaml.replace('stage: one', 'stage: two').replace(', stage: three', ', stage: two'));
  const { lab } = await loadLab(dir);
  assert.deepEqual(order(lab), ['stage:two', 'a', 'b', 'c']);
});

// The reporter sees Playwright's results only: fake just what it reads.
const rec = (phase: CommandRecord['phase'], command: string): CommandRecord =>
  ({ phase, machine: 'host', command, exitCode: 0, stdout: '', stderr: '', durationMs: 1, timedOut: false, truncated: false });
const tc = (kind: string, title: string, extra: { type: string; description: string }[] = []) =>
  ({ title, annotations: [{ type: 'netlab-unit', description: 'nat' }, { type: 'netlab-kind', description: kind }, ...extra] }) as unknown as TestCase;
const tr = (status: TestResult['status'], attachments: { name: string; body: unknown }[], message?: string) =>
  ({ status, duration: 5, errors: message ? [{ message }] : [], attachments: attachments.map((a) => ({ name: a.name, contentType: 'application/json', body: Buffer.from(JSON.stringify(a.body)) })) }) as unknown as TestResult;
const check = (id: string, passed: boolean): CheckResult => ({
  id, name: id, status: passed ? 'passed' : 'failed', points: passed ? 1 : 0, maxPoints: 1, visibility: 'visible',
  expected: 'exit code 0', got: passed ? 'exit code 0' : 'exit code 1', durationMs: 1, commands: [],
});

async function report(stageStatus: TestResult['status']): Promise<RunResult> {
  const out = await mkdtemp(join(tmpdir(), 'netlab-stages-report-'));
  const meta: UnitMeta = {
    unitId: 'nat', outDir: out, lab: { name: 'nat', title: 'T', dir: 'labs/nat' }, kernelName: 'debian:bookworm',
    submission: { file: 'nat.sh', label: 'nat.sh' }, topology: { machines: [], links: [] }, checkOrder: ['a', 'b'],
  };
  const r = new NetlabReporter();
  r.onBegin({ projects: [{ name: 'netlab', metadata: { netlab: { units: { nat: meta } } } }] } as unknown as FullConfig, {} as never);
  r.onTestEnd(tc('setup', 'setup'), tr('passed', [{ name: 'netlab-setup', body: { records: [rec('setup', 'prep'), rec('submission', 'bash nat.sh 1')], lease: undefined, captureErrors: {} } }]));
  r.onTestEnd(tc('check', 'a', [{ type: 'netlab-check-id', description: 'a' }]), tr('passed', [{ name: 'netlab-check', body: check('a', true) }]));
  r.onTestEnd(tc('stage', 'stage: two', [{ type: 'netlab-stage', description: 'two' }]),
    tr(stageStatus, stageStatus === 'passed' ? [{ name: 'netlab-stage', body: { records: [rec('submission', 'bash nat.sh 2')] } }] : [], stageStatus === 'passed' ? undefined : 'SSH connection lost'));
  r.onTestEnd(tc('check', 'b', [{ type: 'netlab-check-id', description: 'b' }]), tr('failed', [{ name: 'netlab-check', body: check('b', false) }]));
  r.onTestEnd(tc('final', 'final state'), tr('passed', [{ name: 'netlab-final', body: { captures: [], collected: [] } }]));
  await r.onEnd({ status: 'failed' } as FullResult);
  assert.ok(existsSync(join(out, 'index.html')));
  return JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as RunResult;
}

test('the reporter files a stage\'s commands with the setup, in order, and grades only the checks', async () => {
  const result = await report('passed');
  assert.deepEqual(result.setup.map((c) => [c.phase, c.command]), [['setup', 'prep'], ['submission', 'bash nat.sh 1'], ['submission', 'bash nat.sh 2']]);
  assert.deepEqual(result.checks.map((c) => c.id), ['a', 'b']);
  assert.equal(result.score, 1);
  assert.equal(result.maxScore, 2);
  assert.equal(result.status, 'failed');
  assert.equal(result.error, undefined);
});

test('a stage that could not run (not a failing command: the machine) makes the run an error', async () => {
  const result = await report('failed');
  assert.equal(result.status, 'error');
  assert.match(result.error!, /^stage two: SSH connection lost/);
});
