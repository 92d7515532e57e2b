// retry() on its own; succeed / waitUntilSucceeds / waitForOpenPort through a real SshMachine against
// a throwaway OpenSSH server on a loopback port (needs /usr/sbin/sshd: Debian openssh-server).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { SshMachine } from '../../vm/ssh/client.ts';
import {
  CommandFailedError, RetryTimeoutError, retry, succeed, waitForClosedPort, waitForOpenPort, waitUntilSucceeds,
} from '../helpers/wait.ts';

const SSHD = '/usr/sbin/sshd';

/** The host's OpenSSH server; installed from Debian when missing and we may (root). */
function ensureSshd(): void {
  if (existsSync(SSHD)) return;
  if (process.getuid?.() === 0) {
    execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'openssh-server'],
      { stdio: 'ignore', timeout: 180_000, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  }
  assert.ok(existsSync(SSHD), `${SSHD} missing: apt-get install -y --no-install-recommends openssh-server`);
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

let dir: string;
let sshd: ChildProcess | undefined;
let m: SshMachine;

before(async () => {
  ensureSshd();
  dir = await mkdtemp(join(tmpdir(), 'netlab-wait-'));
  for (const k of ['host', 'client']) execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, k)]);
  await writeFile(join(dir, 'authorized_keys'), await readFile(join(dir, 'client.pub')));
  const port = await freePort();
  await writeFile(join(dir, 'sshd_config'), [
    'ListenAddress 127.0.0.1', `Port ${port}`, `HostKey ${dir}/host`, `AuthorizedKeysFile ${dir}/authorized_keys`,
    `PidFile ${dir}/pid`, 'StrictModes no', 'PermitRootLogin prohibit-password', 'PasswordAuthentication no',
    'UsePAM no', 'Subsystem sftp internal-sftp', 'SetEnv SHLVL=1', '', // SHLVL: skip the host's ~/.bashrc
  ].join('\n'));
  mkdirSync('/run/sshd', { recursive: true });
  const proc = spawn(SSHD, ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
  sshd = proc;
  let log = '';
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`sshd did not start: ${log}`)), 5_000);
    proc.stderr!.on('data', (b: Buffer) => { log += b; if (log.includes('Server listening')) { clearTimeout(t); resolve(); } });
    proc.on('exit', (code) => { clearTimeout(t); reject(new Error(`sshd exited ${code}: ${log}`)); });
  });
  proc.stderr!.resume();
  m = await SshMachine.connect({
    name: 'box', host: '127.0.0.1', port, user: userInfo().username, privateKeyPath: join(dir, 'client'),
    hostPublicKey: await readFile(join(dir, 'host.pub'), 'utf8'), kernelVersion: 'host',
  }, { timeoutMs: 5_000 });
});

after(async () => {
  await m?.close();
  if (sshd && sshd.exitCode === null) {
    const exited = new Promise((r) => sshd!.once('exit', r));
    sshd.kill('SIGTERM');
    await exited;
  }
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('retry returns the first defined value, and says which try is the last', async () => {
  const calls: Array<[boolean, number]> = [];
  const v = await retry(async (lastTry, attempt) => { calls.push([lastTry, attempt]); return attempt === 3 ? 'ok' : undefined; },
    { timeoutMs: 5_000, intervalMs: 10 });
  assert.equal(v, 'ok');
  assert.deepEqual(calls, [[false, 1], [false, 2], [false, 3]]);
  // falsy values other than undefined count as an answer
  assert.equal(await retry(async () => 0, { timeoutMs: 100 }), 0);
});

test('retry gives up at the deadline: the last try is told, and its error is thrown as is', async () => {
  const seen: boolean[] = [];
  const t0 = performance.now();
  await assert.rejects(retry(async (lastTry) => {
    seen.push(lastTry);
    if (lastTry) throw new Error('still 3 packets, wanted 4');
    throw new Error('not yet');
  }, { timeoutMs: 300, intervalMs: 50 }), /still 3 packets, wanted 4/);
  const elapsed = performance.now() - t0;
  assert.ok(elapsed >= 250 && elapsed < 1_000, `${elapsed} ms`);
  assert.equal(seen.at(-1), true);
  assert.equal(seen.filter(Boolean).length, 1, 'exactly one last try');
  assert.ok(seen.length >= 4);
  // Only ever undefined: a RetryTimeoutError naming the last error seen.
  let n = 0;
  await assert.rejects(retry(async (lastTry) => { n++; if (!lastTry) throw new Error('flaky'); return undefined; },
    { timeoutMs: 100, intervalMs: 20 }), (e: Error) => e instanceof RetryTimeoutError && /flaky/.test(e.message) && e.attempts === n);
  // timeoutMs 0: exactly one try, and it is the last.
  const once: boolean[] = [];
  await assert.rejects(retry(async (lastTry) => { once.push(lastTry); return undefined; }, { timeoutMs: 0 }), RetryTimeoutError);
  assert.deepEqual(once, [true]);
});

test('retry stops when aborted', async () => {
  const ac = new AbortController();
  setTimeout(() => ac.abort(new Error('run cancelled')), 100);
  const t0 = performance.now();
  await assert.rejects(retry(async () => undefined, { timeoutMs: 10_000, intervalMs: 30, signal: ac.signal }), /run cancelled/);
  assert.ok(performance.now() - t0 < 1_000);
});

test('succeed returns stdout, or throws with the exit code and the output', async () => {
  assert.equal(await succeed(m, 'echo hello'), 'hello\n');
  await assert.rejects(succeed(m, 'echo some output; echo boom >&2; exit 7'), (e: Error) => {
    assert.ok(e instanceof CommandFailedError);
    assert.equal(e.result.exitCode, 7);
    assert.match(e.message, /exit code 7/);
    assert.match(e.message, /some output/);
    assert.match(e.message, /boom/);
    return true;
  });
  await assert.rejects(succeed(m, 'sleep 5', { timeout: 300 }), (e: Error) => e instanceof CommandFailedError && /timed out/.test(e.message));
});

test('waitUntilSucceeds retries until the command succeeds; on timeout it reports the last try', async () => {
  const counter = join(dir, 'count');
  const cmd = `n=$(cat ${counter} 2>/dev/null || echo 0); n=$((n+1)); echo $n > ${counter}; [ $n -ge 3 ] && echo ok-$n`;
  assert.equal(await waitUntilSucceeds(m, cmd, { timeoutMs: 10_000, intervalMs: 50 }), 'ok-3\n');
  const t0 = performance.now();
  await assert.rejects(waitUntilSucceeds(m, 'echo "no route to host" >&2; exit 2', { timeoutMs: 600, intervalMs: 100 }), (e: Error) => {
    assert.ok(e instanceof CommandFailedError);
    assert.match(e.message, /did not succeed within 0\.6 s \(last try exited 2\)/);
    assert.match(e.message, /no route to host/);
    return true;
  });
  assert.ok(performance.now() - t0 < 2_000);
  // A try that hangs is cut at the deadline instead of outliving the wait.
  const t1 = performance.now();
  await assert.rejects(waitUntilSucceeds(m, 'sleep 30', { timeoutMs: 1_000, intervalMs: 100 }), /timed out/);
  assert.ok(performance.now() - t1 < 4_000);
});

test('waitForOpenPort sees a listener appear without connecting to it; waitForClosedPort sees it go', async () => {
  const port = await freePort();
  let accepted = 0;
  const server: Server = createServer((s) => { accepted++; s.destroy(); });
  const opening = setTimeout(() => server.listen(port, '127.0.0.1'), 400);
  try {
    const t0 = performance.now();
    await waitForOpenPort(m, port, { timeoutMs: 5_000, intervalMs: 100 });
    assert.ok(performance.now() - t0 >= 350);
    await waitForOpenPort(m, port, { timeoutMs: 1_000, addr: '127.0.0.1' });
    assert.equal(accepted, 0, 'a one-shot server would still have its connection to give');
    await assert.rejects(waitForOpenPort(m, port, { timeoutMs: 300, intervalMs: 100, addr: '127.0.0.2' }), CommandFailedError);
    setTimeout(() => server.close(), 200);
    await waitForClosedPort(m, port, { timeoutMs: 5_000, intervalMs: 100 });
  } finally {
    clearTimeout(opening);
    server.close();
  }
  await assert.rejects(waitForOpenPort(m, port, { timeoutMs: 500, intervalMs: 100 }), /did not succeed within/);
  await assert.rejects(waitForOpenPort(m, 70_000), RangeError);
});
