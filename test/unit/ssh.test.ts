// SshMachine against a real OpenSSH server on a loopback port, run with a throwaway configuration
// (own host key, own authorized_keys, no PAM). Needs /usr/sbin/sshd (Debian: openssh-server).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DownloadTooLargeError, InfraError } from '../../vm/errors.ts';
import { downloadLimit, SshMachine } from '../../vm/ssh/client.ts';
import { shellQuote, tagged, tagKillCommand } from '../../vm/ssh/command-text.ts';
import { parsePublicKeyLine } from '../../vm/ssh/connect.ts';
import type { MachineEndpoint } from '../../vm/types.ts';

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

interface TestSshd { dir: string; port: number; endpoint: MachineEndpoint; otherHostKey: string; proc: ChildProcess }

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

function keygen(path: string): void {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'netlab-test', '-f', path]);
}

async function startSshd(): Promise<TestSshd> {
  ensureSshd();
  const dir = await mkdtemp(join(tmpdir(), 'netlab-sshd-'));
  keygen(join(dir, 'host_ed25519'));
  keygen(join(dir, 'client_ed25519'));
  keygen(join(dir, 'other_ed25519'));
  await writeFile(join(dir, 'authorized_keys'), await readFile(join(dir, 'client_ed25519.pub')));
  const port = await freePort();
  const cfg = join(dir, 'sshd_config');
  await writeFile(cfg, [
    'ListenAddress 127.0.0.1', `Port ${port}`, `HostKey ${dir}/host_ed25519`,
    `AuthorizedKeysFile ${dir}/authorized_keys`, `PidFile ${dir}/pid`, 'StrictModes no',
    'PermitRootLogin prohibit-password', 'PasswordAuthentication no', 'KbdInteractiveAuthentication no',
    'UsePAM no', 'PrintMotd no', 'Subsystem sftp internal-sftp',
    // bash sources ~/.bashrc for commands run by sshd unless SHLVL says it is nested: the host's own
    // ~/.bashrc (pyenv init here, ~100 ms of CPU per command) is none of this test's business.
    'SetEnv SHLVL=1', '',
  ].join('\n'));
  mkdirSync('/run/sshd', { recursive: true });
  const proc = spawn(SSHD, ['-D', '-e', '-f', cfg], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`sshd did not start: ${log}`)), 5_000);
    proc.stderr!.on('data', (b: Buffer) => {
      log += b.toString();
      if (log.includes('Server listening')) { clearTimeout(t); resolve(); }
    });
    proc.on('exit', (code) => { clearTimeout(t); reject(new Error(`sshd exited ${code}: ${log}`)); });
  });
  proc.stderr!.resume();
  return {
    dir, port, proc,
    otherHostKey: (await readFile(join(dir, 'other_ed25519.pub'), 'utf8')).trim(),
    endpoint: {
      name: 'box', host: '127.0.0.1', port, user: userInfo().username,
      privateKeyPath: join(dir, 'client_ed25519'),
      hostPublicKey: (await readFile(join(dir, 'host_ed25519.pub'), 'utf8')).trim(),
      kernelVersion: 'host',
    },
  };
}

let sshd: TestSshd;
let m: SshMachine;

before(async () => {
  sshd = await startSshd();
  m = await SshMachine.connect(sshd.endpoint, { timeoutMs: 5_000 });
});

after(async () => {
  await m?.close();
  if (sshd) {
    const exited = new Promise((r) => sshd.proc.once('exit', r));
    if (sshd.proc.exitCode === null) { sshd.proc.kill('SIGTERM'); await exited; }
    await rm(sshd.dir, { recursive: true, force: true });
  }
});

/** Is a process with exactly this command line running on the test host? */
async function running(cmdline: string): Promise<boolean> {
  const r = await m.exec(`pgrep -fx ${shellQuote(cmdline)}`);
  return r.exitCode === 0;
}

test('shellQuote survives quotes, spaces, newlines and the empty string', async () => {
  for (const s of ['', "it's", 'a b', 'x\ny', `'"$HOME\`ls\`\\`, '网络']) {
    const r = await m.exec(`printf %s ${shellQuote(s)}`);
    assert.equal(r.stdout, s);
  }
  assert.equal(shellQuote("a'b"), `'a'\\''b'`);
});

test('parsePublicKeyLine takes plain and known_hosts lines, rejects junk', () => {
  const k = parsePublicKeyLine(sshd.endpoint.hostPublicKey);
  assert.equal(k.type, 'ssh-ed25519');
  assert.equal(k.blob.length, 51);
  assert.deepEqual(parsePublicKeyLine(`[127.0.0.1]:2222 ${sshd.endpoint.hostPublicKey}`).blob, k.blob);
  assert.throws(() => parsePublicKeyLine('ssh-ed25519 bm90IGEga2V5'));
});

test('exec: exit codes, stdout and stderr apart, signals as 128+n; latency', async (t) => {
  const t0 = performance.now();
  const fresh = await SshMachine.connect(sshd.endpoint);
  const connectMs = performance.now() - t0;
  const times: number[] = [];
  for (let i = 0; i < 10; i++) {
    const s = performance.now();
    await fresh.exec('true');
    times.push(performance.now() - s);
  }
  await fresh.close();
  times.sort((a, b) => a - b);
  t.diagnostic(`loopback: connect ${connectMs.toFixed(0)} ms, exec median ${times[5]!.toFixed(1)} ms`);

  const r = await m.exec('echo out; echo err >&2; exit 3');
  assert.deepEqual([r.exitCode, r.stdout, r.stderr, r.timedOut, r.truncated], [3, 'out\n', 'err\n', false, false]);
  assert.ok(r.durationMs >= 0 && r.durationMs < 5_000);
  assert.equal((await m.exec('true')).exitCode, 0);
  assert.equal((await m.exec('kill -TERM $$')).exitCode, 143);
  const nf = await m.exec('no-such-command-here');
  assert.equal(nf.exitCode, 127);
  assert.match(nf.stderr, /not found/);
});

test('exec streams output through the callbacks as it comes', async () => {
  const seen: Array<{ at: number; s: string }> = [];
  const errs: string[] = [];
  const t0 = performance.now();
  const r = await m.exec('for i in 1 2 3; do echo $i; echo e$i >&2; sleep 0.2; done', {
    onStdout: (s) => seen.push({ at: performance.now() - t0, s }),
    onStderr: (s) => errs.push(s),
  });
  assert.equal(seen.map((x) => x.s).join(''), r.stdout);
  assert.equal(r.stdout, '1\n2\n3\n');
  assert.equal(errs.join(''), 'e1\ne2\ne3\n');
  assert.ok(seen.length >= 2, 'several chunks');
  assert.ok(seen[0]!.at < r.durationMs - 300, 'the first chunk came long before the end');
});

test('output beyond maxOutput is dropped, drained and flagged; callbacks stop at the cap', async () => {
  let streamed = 0;
  const r = await m.exec('yes | head -c 5000000; echo done >&2', { maxOutput: 100_000, onStdout: (s) => { streamed += s.length; } });
  assert.equal(r.exitCode, 0, 'the remote was drained, not blocked');
  assert.equal(r.truncated, true);
  assert.equal(r.stdout.length, 100_000);
  assert.equal(streamed, 100_000);
  assert.equal(r.stderr, 'done\n');
  const d = await m.exec('yes | head -c 5000000');
  assert.equal(d.stdout.length, 1024 * 1024, 'default cap: 1 MiB');
  assert.equal(d.truncated, true);
  const small = await m.exec('printf 12345', { maxOutput: 5 });
  assert.deepEqual([small.stdout, small.truncated], ['12345', false]);
});

test('UTF-8 survives chunk boundaries, stdin and the output cap', async () => {
  const text = '网络实验：桥接与命名空间 ✓ 🚀\n'.repeat(20_000); // ~0.9 MB: many chunks, characters cut across them
  const r = await m.exec('cat', { input: text, maxOutput: 2_000_000 });
  assert.equal(r.stdout.length, text.length);
  assert.equal(r.stdout, text);
  const printed = await m.exec(`for i in $(seq 3000); do printf '%s' ${shellQuote('中文输出')}; done`);
  assert.equal(printed.stdout, '中文输出'.repeat(3000));
  const cut = await m.exec(`printf %s ${shellQuote('网络实验')}`, { maxOutput: 10 });
  assert.equal(cut.stdout, '网络实', 'cut at the last whole character, no U+FFFD');
  assert.equal(cut.truncated, true);
});

test('stdin: input then EOF; without input the command sees EOF at once', async () => {
  const r = await m.exec('wc -c; read -r x || echo eof', { input: 'hello\n' });
  assert.equal(r.stdout, '6\neof\n');
  const none = await m.exec('cat; echo end', { timeout: 5_000 });
  assert.deepEqual([none.stdout, none.timedOut], ['end\n', false]);
});

test('a timed-out command is a result (timedOut, exitCode null) and is really gone, children too', async () => {
  const probe = (async () => {
    await new Promise((r) => setTimeout(r, 500));
    return [await running('sleep 3001'), await running('sleep 3002')];
  })();
  const r = await m.exec('echo started; sleep 3002 & sleep 3001; echo never', { timeout: 1_200 });
  assert.deepEqual(await probe, [true, true], 'both were running before the deadline');
  assert.equal(r.timedOut, true);
  assert.equal(r.exitCode, null);
  assert.equal(r.stdout, 'started\n', 'output from before the deadline is kept');
  // Killed by the tag kill at our deadline, not left to the fallback (1.5 s more, then 3 s).
  assert.ok(r.durationMs >= 1_200 && r.durationMs < 2_200, `durationMs ${r.durationMs}`);
  assert.equal(await running('sleep 3001'), false, 'the command was killed');
  assert.equal(await running('sleep 3002'), false, 'its background child was killed');
  // A command that finishes in time is not disturbed by the wrapper: exit code and output pass through.
  const ok = await m.exec('echo hi; exit 4', { timeout: 5_000 });
  assert.deepEqual([ok.exitCode, ok.stdout, ok.timedOut], [4, 'hi\n', false]);
  // A shell loop of builtins has no child to kill: the session's shell itself is found and killed.
  const spin = await m.exec('i=0; while :; do i=$((i+1)); done', { timeout: 800 });
  assert.ok(spin.timedOut && spin.durationMs < 2_000, `durationMs ${spin.durationMs}`);
  // Processes that left the session and the process group (setsid) still carry the tag.
  const escaped = await m.exec('setsid sleep 3003 & sleep 3004', { timeout: 800 });
  assert.equal(escaped.timedOut, true);
  assert.deepEqual([await running('sleep 3003'), await running('sleep 3004')], [false, false], 'a setsid child was killed too');
  assert.equal(tagged('x', 'ab12'), 'export NETLAB_EXEC=ab12; x');
  assert.ok(!tagKillCommand('0123456789abcdef').includes('0123456789abcdef'), 'the kill command does not match itself');
});

test('killInGuest: false gives up at the timeout and leaves the command running', async () => {
  const r = await m.exec('sleep 3007', { timeout: 500, killInGuest: false });
  assert.equal(r.timedOut, true);
  assert.ok(r.durationMs >= 500 && r.durationMs < 900, `durationMs ${r.durationMs}`);
  assert.equal(await running('sleep 3007'), true, 'not killed');
  await m.exec('pkill -fx "sleep 3007"');
});

test('concurrent execs run at once, a connection each up to maxSessions; more queue instead of failing', async () => {
  // A rendezvous: each command waits until all 8 have started, which only happens if they run at once.
  const dir = join(sshd.dir, 'rendezvous');
  await m.exec(`mkdir -p ${dir}`);
  const rs = await Promise.all(Array.from({ length: 8 }, (_, i) => m.exec(
    `touch ${dir}/${i}; for k in $(seq 100); do [ $(ls ${dir} | wc -l) -ge 8 ] && break; sleep 0.05; done; echo ${i} $(ls ${dir} | wc -l)`,
    { timeout: 10_000 })));
  assert.deepEqual(rs.map((r) => r.stdout), Array.from({ length: 8 }, (_, i) => `${i} 8\n`));
  // $PPID: the server's process of the connection that ran the command. Connections are reused, so
  // 20 commands at once need no more than the 9 (maxSessions) connections, and one after another one.
  const many = await Promise.all(Array.from({ length: 20 }, () => m.exec('echo $PPID')));
  assert.deepEqual(many.map((r) => r.exitCode), Array(20).fill(0));
  const servers = new Set(many.map((r) => r.stdout));
  assert.ok(servers.size >= 2 && servers.size <= 9, `connections used: ${servers.size}`);
  const [one, two] = [await m.exec('echo $PPID'), await m.exec('echo $PPID')];
  assert.equal(one.stdout, two.stdout, 'consecutive commands share a connection');
});

test('a command too long for an exec request travels on stdin, ahead of its input', async () => {
  const long = `x=${'y'.repeat(20_000)}; echo \${#x}; cat`;
  const r = await m.exec(long, { input: 'after\n' });
  assert.deepEqual([r.exitCode, r.stdout], [0, '20000\nafter\n']);
  const timed = await m.exec(long, { input: 'in time\n', timeout: 5_000 });
  assert.deepEqual([timed.exitCode, timed.stdout, timed.timedOut], [0, '20000\nin time\n', false]);
});

test('upload and download round trip over SFTP, keeping the mode; errors name the paths', async () => {
  const local = join(sshd.dir, 'payload.bin');
  const data = randomBytes(700_000);
  await writeFile(local, data);
  await chmod(local, 0o750);
  const remote = join(sshd.dir, 'remote dir', 'payload.bin');
  await m.exec(`mkdir -p ${shellQuote(join(sshd.dir, 'remote dir'))}`);
  await m.upload(local, remote);
  const st = await m.exec(`stat -c %s:%a ${shellQuote(remote)}`);
  assert.equal(st.stdout.trim(), `${data.length}:750`);
  const back = join(sshd.dir, 'back.bin');
  await m.download(remote, back);
  assert.deepEqual(await readFile(back), data);
  // A second transfer reuses the SFTP session.
  await m.upload(local, `${remote}.2`);
  assert.equal((await stat(`${remote}.2`)).size, data.length);
  await assert.rejects(m.download('/nonexistent/netlab-file', back),
    (e: Error) => e instanceof InfraError && e.message.includes('/nonexistent/netlab-file'));
  await assert.rejects(m.upload(join(sshd.dir, 'missing.txt'), '/tmp/x'),
    (e: Error) => e instanceof InfraError && e.message.includes('missing.txt'));
});

test('a download over the limit is refused before a byte is copied: a sparse 100 GB file costs nothing', async () => {
  const huge = join(sshd.dir, 'huge.pcap');
  await m.exec(`truncate -s 100G ${shellQuote(huge)}`);
  const back = join(sshd.dir, 'huge.back');
  const t0 = performance.now();
  await assert.rejects(m.download(huge, back), (e: Error) => e instanceof DownloadTooLargeError && !(e instanceof InfraError)
    && /is 107374182400 bytes, over the download limit of 67108864 bytes/.test(e.message));
  assert.ok(performance.now() - t0 < 2000);
  assert.ok(!existsSync(back), 'nothing written on the host');
  const small = join(sshd.dir, 'small.bin');
  await writeFile(small, Buffer.alloc(1000, 7));
  await assert.rejects(m.download(small, back, { maxBytes: 999 }), DownloadTooLargeError);
  await m.download(small, back, { maxBytes: 1000 });
  assert.equal((await stat(back)).size, 1000);
  assert.equal(downloadLimit({ NETLAB_MAX_DOWNLOAD: '4096' }), 4096);
  // A link to an endless device claims 0 bytes: the copy still stops at the limit, and is refused.
  const endless = join(sshd.dir, 'endless.pcap');
  await m.exec(`ln -sf /dev/zero ${shellQuote(endless)}`);
  await assert.rejects(m.download(endless, back, { maxBytes: 4096 }), (e: Error) => e instanceof DownloadTooLargeError && /is endless/.test(e.message));
  assert.ok(!existsSync(back));
});

test('a wrong host key fails at once with InfraError, never retried', async () => {
  const t0 = performance.now();
  await assert.rejects(
    SshMachine.connect({ ...sshd.endpoint, hostPublicKey: sshd.otherHostKey }, { timeoutMs: 10_000 }),
    (e: Error) => e instanceof InfraError && /host key .* did not match/.test(e.message),
  );
  assert.ok(performance.now() - t0 < 2_000, 'not retried until the budget ended');
});

test('nothing listening: InfraError naming host:port and the cause, within the budget', async () => {
  const port = await freePort();
  const t0 = performance.now();
  await assert.rejects(SshMachine.connect({ ...sshd.endpoint, port }, { timeoutMs: 1_500 }), (e: Error) => {
    assert.ok(e instanceof InfraError);
    assert.match(e.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
    assert.match(e.message, /connection refused/);
    return true;
  });
  const elapsed = performance.now() - t0;
  assert.ok(elapsed >= 1_400 && elapsed < 2_500, `gave up after ${elapsed.toFixed(0)} ms`);
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 200);
  const t1 = performance.now();
  await assert.rejects(SshMachine.connect({ ...sshd.endpoint, port }, { timeoutMs: 10_000, signal: ac.signal }),
    (e: Error) => e instanceof InfraError && /aborted/.test(e.message));
  assert.ok(performance.now() - t1 < 1_000);
});

test('the connection dropping mid-command rejects with InfraError; the next exec reconnects', async () => {
  // $PPID of a command is its sshd session process: killing it drops that connection.
  // A command with a time limit that loses its connection is killed over a new one, right away.
  const timed = m.exec('sleep 3004 & sleep 0.3; kill -9 $PPID; wait', { timeout: 60_000 });
  const dropped = m.exec('kill -9 $PPID; sleep 5');
  await assert.rejects(dropped, (e: Error) => e instanceof InfraError && /lost/.test(e.message));
  await assert.rejects(timed, InfraError);
  const t0 = performance.now();
  const r = await m.exec('echo back');
  assert.deepEqual([r.exitCode, r.stdout], [0, 'back\n']);
  assert.ok(performance.now() - t0 < 2_000);
  const deadline = performance.now() + 4_000;
  while (await running('sleep 3004')) {
    assert.ok(performance.now() < deadline, 'the tagged command was killed after its connection dropped');
    await new Promise((res) => setTimeout(res, 200));
  }
  // SFTP on the new connection works too.
  await m.download(join(sshd.dir, 'authorized_keys'), join(sshd.dir, 'ak.copy'));
});

test('close() is idempotent, and exec after close rejects', async () => {
  const c = await SshMachine.connect(sshd.endpoint);
  assert.equal((await c.exec('echo x')).stdout, 'x\n');
  await Promise.all([c.close(), c.close()]);
  await c.close();
  await assert.rejects(c.exec('true'), (e: Error) => e instanceof InfraError && /closed/.test(e.message));
  await assert.rejects(c.upload(join(sshd.dir, 'authorized_keys'), '/tmp/x'), InfraError);
});
