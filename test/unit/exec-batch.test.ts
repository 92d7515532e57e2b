// Batches of commands in one exec: the script really runs (local bash), the split gives each command
// its own output, exit code and time, and a batch cut short says which command it cut.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { batchScript, execBatch, splitBatch } from '../../vm/ssh/exec-batch.ts';
import type { ExecOptions, ExecResult, Machine } from '../../vm/types.ts';

async function bash(script: string, timeoutMs?: number): Promise<ExecResult> {
  const t = performance.now();
  const r = await execa('bash', ['-c', script], { reject: false, timeout: timeoutMs, stripFinalNewline: false });
  return { exitCode: r.timedOut ? null : (r.exitCode ?? null), stdout: r.stdout, stderr: r.stderr, durationMs: performance.now() - t, timedOut: !!r.timedOut, truncated: false };
}

// A Machine whose exec is local bash: the batch's own logic, not SSH, is under test here.
const local: Machine = {
  name: 'local',
  exec: (command: string, opts: ExecOptions = {}) => bash(command, opts.timeout),
  upload: async () => {}, download: async () => {}, close: async () => {},
} as unknown as Machine;

test('each command of a batch keeps its own stdout, stderr, exit code and time; exit and cd stay inside it', async () => {
  const cmds = ['echo one; echo err1 >&2', 'printf no-newline; exit 3', 'cd /; pwd; sleep 0.2', 'pwd', 'true'];
  const rs = await execBatch(local, cmds, { timeout: 10_000 });
  assert.deepEqual(rs.map((r) => [r.exitCode, r.stdout, r.stderr]), [
    [0, 'one\n', 'err1\n'], [3, 'no-newline', ''], [0, '/\n', ''], [0, `${process.cwd()}\n`, ''], [0, '', ''],
  ]);
  assert.ok(rs[2]!.durationMs >= 200 && rs[2]!.durationMs < 2_000, `sleep 0.2 took ${rs[2]!.durationMs} ms`);
  assert.ok(rs.every((r) => !r.timedOut && !r.truncated));
});

test('a batch cut by its timeout: finished commands keep their results, the running one is timed out, the rest did not run', async () => {
  const cmds = ['echo done', 'echo partial; sleep 2', 'echo never'];
  const rs = await execBatch(local, cmds, { timeout: 1_000 });
  assert.deepEqual([rs[0]!.exitCode, rs[0]!.stdout, rs[0]!.timedOut], [0, 'done\n', false]);
  assert.deepEqual([rs[1]!.exitCode, rs[1]!.timedOut], [null, true]);
  assert.match(rs[1]!.stdout, /^\npartial\n$|^partial\n$/);
  assert.deepEqual([rs[2]!.exitCode, rs[2]!.stdout, rs[2]!.timedOut], [null, '', false]);
  assert.match(rs[2]!.stderr, /not run/);
});

test('output is capped per command, and a marker-like line from a command does not split it', async () => {
  const nonce = 'NETLAB-BATCH-abc';
  const cmds = ['head -c 5000 /dev/zero | tr "\\0" x', 'echo "NETLAB-BATCH-other 0 0 1 2"', 'echo small'];
  const rs = splitBatch(cmds, nonce, await bash(batchScript(cmds, nonce)), 1000);
  assert.deepEqual(rs.map((r) => [r.stdout.length, r.truncated]), [[1000, true], [27, false], [6, false]]);
  assert.equal(rs[1]!.stdout, 'NETLAB-BATCH-other 0 0 1 2\n');
});
