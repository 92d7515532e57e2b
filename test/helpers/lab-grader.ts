// Grades a lab through the real CLI, as the lab e2e tests do: the reference or a fixture submission
// from test/fixtures/submissions/<lab>/, with the summary read back and the teardown checked.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './cli.ts';
import { qemuPidsUnder } from './processes.ts';

export interface Summary { status: string; score: number; maxScore: number; checks: { id: string; status: string; points: number }[] }

export async function labGrader(lab: string, opts: { timeoutMs?: number } = {}) {
  const runtimeDir = await mkdtemp(join(tmpdir(), 'netlab-e2e-rt-'));
  return async (submission: string | undefined, extra: string[] = []) => {
    const out = await mkdtemp(join(tmpdir(), 'netlab-e2e-'));
    const args = [`labs/${lab}`, '--out', out, ...(submission ? ['--submission', `test/fixtures/submissions/${lab}/${submission}`] : []), ...extra];
    const r = await runCli(args, { timeoutMs: opts.timeoutMs ?? 300_000, env: { NETLAB_RUNTIME_DIR: runtimeDir } });
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as Summary;
    // Every run tears down what it started: no QEMU of this run, no run folder.
    assert.deepEqual(qemuPidsUnder(runtimeDir), [], 'no qemu left behind');
    assert.deepEqual(existsSync(runtimeDir) ? readdirSync(runtimeDir) : [], [], 'no run folder left behind');
    return { r, out, summary, failed: summary.checks.filter((c) => c.status !== 'passed').map((c) => c.id).sort() };
  };
}

type Graded = Awaited<ReturnType<Awaited<ReturnType<typeof labGrader>>>>;

/** Full marks: exit 0, status passed, score = max, and the terminal summary says so. */
export function assertFullMarks({ r, summary }: Graded, max: number): void {
  assert.equal(r.exitCode, 0, r.all);
  assert.equal(summary.status, 'passed');
  assert.equal(summary.score, max);
  assert.equal(summary.maxScore, max);
  assert.match(r.stdout, new RegExp(`Score: ${max}/${max}`));
}

/** A graded mistake: exit 1, exactly this score of max, exactly these checks not passed. */
export function assertPartial({ r, summary, failed }: Graded, score: number, max: number, failedIds: string[]): void {
  assert.equal(r.exitCode, 1, r.all);
  assert.equal(summary.score, score);
  assert.equal(summary.maxScore, max);
  assert.deepEqual(failed, failedIds);
}
