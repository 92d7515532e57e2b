import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';

test('a run whose owner died is reaped: its processes killed, its folder removed; live runs stay', async () => {
  const root = await mkdtemp(join(tmpdir(), 'netlab-rt-'));
  process.env.NETLAB_RUNTIME_DIR = root;
  const { createRunDir, reapStaleRuns, recordPid } = await import('../../vm/runtime.ts');
  const stale = join(root, 'stale-abc');
  await mkdir(stale);
  await writeFile(join(stale, 'owner.pid'), '999999999 1\n');
  // A stand-in for a QEMU left behind: its command line names the run folder, as QEMU's does.
  const child = spawn('bash', ['-c', 'sleep 300; exit 0', join(stale, 'vm.qcow2')], { stdio: 'ignore' });
  await writeFile(join(stale, 'vm.pid'), `${child.pid}\n`);
  // An unrelated process whose PID is listed must survive: it does not name the folder.
  const bystander = spawn('sleep', ['300'], { stdio: 'ignore' });
  await writeFile(join(stale, 'other.pid'), `${bystander.pid}\n`);
  const live = await createRunDir('live');
  await recordPid(live, 'x', bystander.pid!);

  const exited = new Promise((r) => child.on('exit', r));
  const removed = await reapStaleRuns();
  assert.deepEqual(removed, ['stale-abc']);
  await exited;
  assert.equal(existsSync(stale), false);
  assert.equal(existsSync(live.path), true);
  assert.equal(bystander.exitCode, null);
  bystander.kill();
  child.unref(); bystander.unref();
});
