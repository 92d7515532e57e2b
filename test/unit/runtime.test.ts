import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';

test('a run whose owner died is reaped: its processes killed, its folder removed; live runs stay', async () => {
  const root = await mkdtemp(join(tmpdir(), 'netlab-rt-'));
  process.env.NETLAB_RUNTIME_DIR = root;
  const { createRunDir, processStartTime, reapStaleRuns, recordPid } = await import('../../vm/runtime.ts');
  const stale = join(root, 'stale-abc');
  await mkdir(stale);
  await writeFile(join(stale, 'owner.pid'), '999999999 1\n');
  // A stand-in for a QEMU left behind: its command line names the run folder, as QEMU's does.
  const child = spawn('bash', ['-c', 'sleep 300; exit 0', join(stale, 'vm.qcow2')], { stdio: 'ignore' });
  await writeFile(join(stale, 'vm.pid'), `${child.pid} ${processStartTime(child.pid!)}\n`);
  // A process that names the folder but is not the one recorded (a recycled PID: another start time),
  // or was recorded without a start time, survives.
  const recycled = spawn('bash', ['-c', 'sleep 300; exit 0', join(stale, 'other.qcow2')], { stdio: 'ignore' });
  await writeFile(join(stale, 'recycled.pid'), `${recycled.pid} 1\n`);
  const bare = spawn('bash', ['-c', 'sleep 300; exit 0', join(stale, 'bare.qcow2')], { stdio: 'ignore' });
  await writeFile(join(stale, 'bare.pid'), `${bare.pid}\n`);
  // A QEMU that dropped to an identity of its own is killed when that uid was recorded with it; a
  // process of another user that was not is left alone.
  const asUser = (uid: number, file: string) => spawn('setpriv', ['--reuid', String(uid), '--regid', String(uid), '--clear-groups', 'bash', '-c', 'sleep 300; exit 0', join(stale, file)], { stdio: 'ignore' });
  const dropped = asUser(1_900_000_099, 'dropped.qcow2');
  const stranger = asUser(1_900_000_098, 'stranger.qcow2');
  await new Promise((r) => setTimeout(r, 200));
  await writeFile(join(stale, 'dropped.pid'), `${dropped.pid} ${processStartTime(dropped.pid!)} 1900000099\n`);
  await writeFile(join(stale, 'stranger.pid'), `${stranger.pid} ${processStartTime(stranger.pid!)}\n`);
  const droppedExited = new Promise((r) => dropped.on('exit', r));
  // An unrelated process whose PID is listed must survive: it does not name the folder.
  const bystander = spawn('sleep', ['300'], { stdio: 'ignore' });
  await writeFile(join(stale, 'other.pid'), `${bystander.pid}\n`);
  const live = await createRunDir('live');
  await recordPid(live, 'x', bystander.pid!);

  const exited = new Promise((r) => child.on('exit', r));
  const removed = await reapStaleRuns();
  assert.deepEqual(removed, ['stale-abc']);
  await exited;
  await droppedExited;
  assert.equal(stranger.exitCode, null);
  stranger.kill('SIGKILL');
  assert.equal(existsSync(stale), false);
  assert.equal(existsSync(live.path), true);
  assert.equal(bystander.exitCode, null);
  assert.equal(recycled.exitCode, null);
  assert.equal(bare.exitCode, null);
  for (const p of [bystander, recycled, bare]) { p.kill(); p.unref(); }
  child.unref();
});

test('the runtime folder is refused when another user owns it or it is a symbolic link; its mode is set to traverse-only', async () => {
  const { secureRuntimeRoot } = await import('../../vm/runtime.ts');
  const { InfraError } = await import('../../vm/errors.ts');
  const base = await mkdtemp(join(tmpdir(), 'netlab-rtroot-'));
  try {
    const theirs = join(base, 'theirs');
    await mkdir(theirs, { mode: 0o777 });
    await chown(theirs, 65534, 65534);
    await assert.rejects(secureRuntimeRoot(theirs), (e: Error) => e instanceof InfraError && /belongs to uid 65534/.test(e.message));
    const target = join(base, 'target');
    await mkdir(target);
    await symlink(target, join(base, 'link'));
    await assert.rejects(secureRuntimeRoot(join(base, 'link')), /is a symbolic link: refusing to follow it/);
    const loose = join(base, 'loose');
    await mkdir(loose);
    await chmod(loose, 0o777);
    await secureRuntimeRoot(loose);
    assert.equal((await stat(loose)).mode & 0o777, 0o711);
    const fresh = join(base, 'fresh');
    await secureRuntimeRoot(fresh);
    assert.equal((await stat(fresh)).mode & 0o777, 0o711);
  } finally {
    await rm(base, { recursive: true, force: true });
  }
});
