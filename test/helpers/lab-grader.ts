// Grades a lab through the real CLI in a single run: the reference or one of the lab's example
// submissions (labs/<lab>/examples/), with the summary read back and the teardown checked.
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
    const args = [`labs/${lab}`, '--out', out, ...(submission ? ['--submission', `labs/${lab}/examples/${submission}`] : []), ...extra];
    const r = await runCli(args, { timeoutMs: opts.timeoutMs ?? 300_000, env: { NETLAB_RUNTIME_DIR: runtimeDir } });
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as Summary;
    // Every run tears down what it started: no QEMU of this run, no run folder.
    assert.deepEqual(qemuPidsUnder(runtimeDir), [], 'no qemu left behind');
    assert.deepEqual(existsSync(runtimeDir) ? readdirSync(runtimeDir) : [], [], 'no run folder left behind');
    return { r, out, summary, failed: summary.checks.filter((c) => c.status !== 'passed').map((c) => c.id).sort() };
  };
}
