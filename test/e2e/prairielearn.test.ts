// PrairieLearn's external grader, run here against a simulated /grade folder: docs/prairielearn/run.sh
// grades /grade/student's file with netlab-run (TCG, as in PrairieLearn's grader) and writes a
// /grade/results/results.json that follows PrairieLearn's results format, within its 1 MiB. A
// submission PrairieLearn could not grade (no file, grading past its time limit) is "not gradable",
// so the student loses no attempt. The container image itself (docs/prairielearn/Dockerfile) cannot be
// built here (no Docker).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { repo } from '../helpers/cli.ts';
import { PRAIRIELEARN_LIMIT, PrairieLearnResults } from '../helpers/prairielearn.ts';
import { qemuPidsUnder } from '../helpers/processes.ts';

const runSh = join(repo, 'docs/prairielearn/run.sh');

async function gradeFolder(file?: { from: string; as: string }): Promise<string> {
  const g = await mkdtemp(join(tmpdir(), 'netlab-grade-'));
  for (const d of ['student', 'data']) mkdirSync(join(g, d), { recursive: true });
  if (file) copyFileSync(join(repo, file.from), join(g, 'student', file.as));
  return g;
}

function results(g: string) {
  const file = join(g, 'results', 'results.json');
  assert.ok(statSync(file).size < PRAIRIELEARN_LIMIT);
  const json = JSON.parse(readFileSync(file, 'utf8'));
  const parsed = PrairieLearnResults.safeParse(json);
  assert.ok(parsed.success, JSON.stringify(!parsed.success && parsed.error.issues));
  return json;
}

test('run.sh grades /grade/student and writes a valid results.json (score 0-1, a test per check)', async () => {
  const g = await gradeFolder({ from: 'labs/bridge/examples/no-default-route.sh', as: 'bridge.sh' });
  const runtime = await mkdtemp(join(tmpdir(), 'netlab-pl-rt-'));
  const r = await execa('bash', [runSh], {
    reject: false, all: true, timeout: 300_000,
    env: { GRADE_ROOT: g, NETLAB_RUN_DIR: repo, NETLAB_LAB: join(repo, 'labs/bridge'), NETLAB_RUNTIME_DIR: runtime, NO_COLOR: '1' },
  });
  assert.equal(r.exitCode, 0, r.all);
  assert.match(r.all ?? '', /run\.sh: netlab-run exited 1/);
  const pl = results(g);
  assert.equal(pl.gradable, true);
  assert.equal(pl.score, Math.round((20 / 22) * 10_000) / 10_000);
  assert.match(pl.message, /^Two containers on a Linux bridge, docker0 by hand \(bridge\) on .*\nScore: 20\/22/);
  assert.match(pl.output, /\[host\]\$ .*bridge\.sh/, 'what the student\'s script printed');
  assert.equal(pl.tests.length, 14);
  const failed = pl.tests.filter((t: { points: number; max_points: number }) => t.points < t.max_points);
  assert.deepEqual(failed.map((t: { name: string; points: number; max_points: number }) => [t.name, t.points, t.max_points]), [['both namespaces route by default via 10.100.0.1', 0, 2]]);
  assert.match(failed[0].message, /Hint: Each namespace needs `ip route add default via 10\.100\.0\.1`/);
  assert.deepEqual(qemuPidsUnder(runtime), []);
  assert.deepEqual(readdirSync(runtime), []);
});

test('run.sh without the expected file: not gradable, and what to submit', async () => {
  const g = await gradeFolder();
  for (const f of ['a.sh', 'b.sh']) copyFileSync(join(repo, 'labs/bridge/solution/bridge.sh'), join(g, 'student', f));
  const r = await execa('bash', [runSh], { reject: false, all: true, env: { GRADE_ROOT: g, NETLAB_RUN_DIR: repo, NETLAB_LAB: join(repo, 'labs/bridge') } });
  assert.equal(r.exitCode, 0, r.all);
  const pl = results(g);
  assert.deepEqual([pl.gradable, pl.tests], [false, []]);
  assert.match(pl.message, /^Submit one file named bridge\.sh \(found: .*a\.sh/);
  assert.deepEqual(pl.format_errors, [pl.message]);
});

test('run.sh past NETLAB_TIME_LIMIT: netlab-run is stopped, no VM is left, the submission is not gradable', async () => {
  const g = await gradeFolder({ from: 'labs/bridge/solution/bridge.sh', as: 'bridge.sh' });
  const runtime = await mkdtemp(join(tmpdir(), 'netlab-pl-rt-'));
  const started = Date.now();
  const r = await execa('bash', [runSh], {
    reject: false, all: true, timeout: 120_000,
    env: { GRADE_ROOT: g, NETLAB_RUN_DIR: repo, NETLAB_LAB: join(repo, 'labs/bridge'), NETLAB_RUNTIME_DIR: runtime, NETLAB_TIME_LIMIT: '4', NO_COLOR: '1' },
  });
  assert.equal(r.exitCode, 0, r.all);
  assert.ok(Date.now() - started < 40_000, `took ${Date.now() - started} ms`);
  const pl = results(g);
  assert.equal(pl.gradable, false, r.all);
  assert.match(pl.message, /took longer than 4 s|could not finish running your submission/);
  assert.deepEqual(qemuPidsUnder(runtime), []);
});
