// What a user does around a run: keep the VMs and open a shell in them, interrupt a run, kill it -9.
// Each way, no QEMU survives and no run folder is left for long.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { cliPath, repo, runCli } from '../helpers/cli.ts';
import { alive, qemuPidsUnder } from '../helpers/processes.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function start(args: string[], runtime: string) {
  const child = execa(process.execPath, [cliPath, ...args], {
    cwd: repo, reject: false, all: true, buffer: true, env: { NO_COLOR: '1', NETLAB_RUNTIME_DIR: runtime },
  });
  let output = '';
  child.all?.on('data', (d: Buffer) => { output += d.toString(); });
  return { child, output: () => output };
}

async function waitFor(what: () => boolean, ms: number, label: string) {
  const deadline = Date.now() + ms;
  while (!what()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${label}`);
    await sleep(200);
  }
}

async function outDir() { return mkdtemp(join(tmpdir(), 'netlab-life-')); }

test('--keep leaves the lab running; `netlab-run shell` reaches it; SIGTERM then stops everything', async () => {
  const runtime = await mkdtemp(join(tmpdir(), 'netlab-rt-'));
  const run = start(['labs/bridge', '--keep', '--out', await outDir()], runtime);
  await waitFor(() => run.output().includes('Press Ctrl-C'), 240_000, 'the kept VMs');
  assert.match(run.output(), /ssh -i \S+ -p \d+ .*root@127\.0\.0\.1\s+# host/);
  const pids = qemuPidsUnder(runtime);
  assert.equal(pids.length, 1);
  // The student's state is still there: the namespaces the submission made.
  const shell = await runCli(['shell', 'labs/bridge', 'host', '--', 'ip', 'netns', 'list'], { env: { NETLAB_RUNTIME_DIR: runtime } });
  assert.equal(shell.exitCode, 0, shell.all);
  assert.match(shell.stdout, /net1/);
  assert.match(shell.stdout, /net2/);
  run.child.kill('SIGTERM');
  const r = await run.child;
  assert.equal(r.exitCode, 0, 'a kept run ends with its own grade');
  assert.deepEqual(pids.filter(alive), []);
  assert.deepEqual(readdirSync(runtime), []);
});

test('SIGINT during a run: exit 130, VMs stopped, nothing left', async () => {
  const runtime = await mkdtemp(join(tmpdir(), 'netlab-rt-'));
  const run = start(['labs/bridge', '--out', await outDir()], runtime);
  await waitFor(() => qemuPidsUnder(runtime).length === 1 && /ready in/.test(run.output()), 240_000, 'the VM');
  const pids = qemuPidsUnder(runtime);
  run.child.kill('SIGINT');
  const r = await run.child;
  assert.equal(r.exitCode, 130, run.output());
  assert.deepEqual(pids.filter(alive), []);
  assert.deepEqual(readdirSync(runtime), []);
});

test('kill -9 of netlab-run: QEMU dies with it, and the next start removes the stale run folder', async () => {
  const runtime = await mkdtemp(join(tmpdir(), 'netlab-rt-'));
  const run = start(['labs/bridge', '--out', await outDir()], runtime);
  await waitFor(() => qemuPidsUnder(runtime).length === 1, 240_000, 'the VM');
  const pids = qemuPidsUnder(runtime);
  const stale = readdirSync(runtime);
  run.child.kill('SIGKILL');
  await run.child;
  await waitFor(() => pids.every((p) => !alive(p)), 10_000, 'QEMU to die with its parent');
  assert.equal(stale.length, 1);
  assert.ok(existsSync(join(runtime, stale[0]!)), 'the folder outlives a kill -9');
  const next = await runCli(['shell', 'labs/bridge', 'host', '--', 'true'], { env: { NETLAB_RUNTIME_DIR: runtime }, timeoutMs: 240_000 });
  assert.equal(next.exitCode, 0, next.all);
  assert.match(next.stderr, /removed 1 stale run/);
  assert.deepEqual(readdirSync(runtime), []);
});

export type { ResultPromise };
