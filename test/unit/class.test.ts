// A class folder: who the students are, what changed since the last grading (--resume), and the
// limits every submission runs under.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { alreadyGraded, findClass, inputHash, writeClassReports, writeMissingReport } from '../../runner/orchestrate/class.ts';
import { parseSize } from '../../runner/cli/cli.ts';
import { loadLab } from '../../runner/lab/load.ts';
import { limitCountsCommand, parseLimitCounts, submissionCommand, SUBMISSION_PIDS_MAX } from '../../runner/playwright/guest-commands.ts';
import { DEFAULT_OUTPUT_LIMIT, outputLimit } from '../../runner/protocol/wire.ts';
import { parallelism } from '../../runner/orchestrate/run.ts';
import { writeReport } from '../../reports/summary.ts';
import { sampleResult } from '../../reports/fixtures/sample-result.ts';

const LAB = new URL('../fixtures/labs/bridge-graded/', import.meta.url).pathname;

async function classDir(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'netlab-class-'));
  for (const [name, text] of Object.entries(files)) {
    await mkdir(join(dir, name, '..'), { recursive: true });
    await writeFile(join(dir, name), text);
  }
  return dir;
}

test('students: a file each (name without extension) or a folder holding the lab\'s file; safe, unique names', async () => {
  const loaded = await loadLab(LAB);
  const dir = await classDir({
    'alice.sh': 'echo a', 'bob/bridge.sh': 'echo b', 'bob/notes.txt': 'x', 'carol/readme.md': 'no script',
    'alice.txt': 'again', 'staff.sh': 'sneaky', 'Dan Smith (2).sh': 'spaces', '.hidden.sh': 'skipped', 'plain': 'no ext',
  });
  try {
    const entries = await findClass(dir, loaded);
    assert.deepEqual(entries.map((e) => [e.student, e.path !== null]), [
      ['alice', true], ['alice-2', true], ['bob', true], ['carol', false], ['Dan_Smith_2_', true], ['plain', true], ['staff_', true],
    ]);
    assert.equal(entries.find((e) => e.student === 'bob')!.path, join(dir, 'bob', 'bridge.sh'));
    assert.equal(entries.find((e) => e.student === 'carol')!.hash, null);
    // The hash covers lab.yaml and the graded file: equal files hash equal, another file does not.
    const h = entries.find((e) => e.student === 'alice')!.hash;
    assert.match(h!, /^[0-9a-f]{64}$/);
    assert.notEqual(h, entries.find((e) => e.student === 'alice-2')!.hash);
    assert.notEqual(inputHash('lab: 1', Buffer.from('x')), inputHash('lab: 2', Buffer.from('x')));
    assert.notEqual(inputHash('ab', Buffer.from('c')), inputHash('a', Buffer.from('bc')));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a symbolic link in the submissions folder is never followed: the student is not graded and the row says why', async () => {
  const loaded = await loadLab(LAB);
  const secret = await classDir({ 'secret.txt': 'host secret' });
  const dir = await classDir({ 'alice.sh': 'echo a', 'carol/notes.txt': 'x' });
  try {
    await symlink(join(secret, 'secret.txt'), join(dir, 'mallory.sh'));
    await symlink(join(secret, 'secret.txt'), join(dir, 'carol', 'bridge.sh'));
    await symlink(secret, join(dir, 'eve'));
    const entries = await findClass(dir, loaded);
    assert.deepEqual(entries.map((e) => [e.student, e.path, e.refused ?? null]), [
      ['alice', join(dir, 'alice.sh'), null],
      ['carol', null, 'carol/bridge.sh is a symbolic link, not followed: submissions are graded only from regular files'],
      ['eve', null, 'eve is a symbolic link, not followed: submissions are graded only from regular files'],
      ['mallory', null, 'mallory.sh is a symbolic link, not followed: submissions are graded only from regular files'],
    ]);
    const out = await mkdtemp(join(tmpdir(), 'netlab-class-out-'));
    await writeMissingReport(out, entries.find((e) => e.student === 'mallory')!, loaded);
    const report = await readFile(join(out, 'mallory', 'index.html'), 'utf8');
    assert.doesNotMatch(report, /host secret/);
    assert.match(report, /symbolic link, not followed/);
    await rm(out, { recursive: true, force: true });
  } finally {
    await rm(dir, { recursive: true, force: true });
    await rm(secret, { recursive: true, force: true });
  }
});

test('an empty or missing submissions folder is a usage error', async () => {
  const loaded = await loadLab(LAB);
  const dir = await classDir({});
  try {
    await assert.rejects(findClass(dir, loaded), /no submission in/);
    await assert.rejects(findClass(join(dir, 'nope'), loaded), /cannot read the folder/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('--resume keeps a finished grade of an unchanged file; a changed file, an error or no grade is graded again', async () => {
  const loaded = await loadLab(LAB);
  const dir = await classDir({ 'alice.sh': 'echo a', 'bob.sh': 'echo b', 'carol/x': 'y' });
  const out = await mkdtemp(join(tmpdir(), 'netlab-class-out-'));
  try {
    const [alice, bob, carol] = await findClass(dir, loaded);
    const graded = { ...sampleResult(), inputHash: alice!.hash! };
    await writeReport(graded, join(out, 'alice'));
    await writeReport(graded, join(out, 'staff', 'alice'), { showHidden: true });
    assert.equal(await alreadyGraded(out, alice!), true);
    await writeReport({ ...graded, inputHash: 'old' }, join(out, 'staff', 'bob'), { showHidden: true });
    await writeReport(graded, join(out, 'bob'));
    assert.equal(await alreadyGraded(out, bob!), false, 'changed since');
    await writeReport({ ...graded, status: 'error' }, join(out, 'staff', 'alice'), { showHidden: true });
    assert.equal(await alreadyGraded(out, alice!), false, 'an infrastructure error is graded again');
    assert.equal(await alreadyGraded(out, carol!), false);
    // The gradebook covers everyone: graded, missing, and not (yet) graded.
    await writeReport({ ...graded, status: 'failed', submissionRun: { status: 'timeout', detail: 'late' } }, join(out, 'staff', 'alice'), { showHidden: true });
    await writeMissingReport(out, carol!, loaded);
    const { rows } = await writeClassReports(out, loaded, [alice!, bob!, carol!]);
    assert.deepEqual(rows.map((r) => [r.student, r.status, r.score, r.maxScore]), [['alice', 'timeout', 8, 10], ['bob', 'error', null, null], ['carol', 'missing', 0, 15]]);
    assert.match(rows[2]!.detail!, /^no bridge\.sh in /);
  } finally {
    await rm(dir, { recursive: true, force: true });
    await rm(out, { recursive: true, force: true });
  }
});

test('limits: output cap from --max-output, sizes in K/M, units at once by cores and memory', () => {
  assert.equal(outputLimit(undefined), DEFAULT_OUTPUT_LIMIT);
  assert.equal(outputLimit('4096'), 4096);
  assert.equal(outputLimit('nonsense'), DEFAULT_OUTPUT_LIMIT);
  assert.deepEqual(['4096', '64K', '1m', '2MiB'].map(parseSize), [4096, 65_536, 1_048_576, 2_097_152]);
  assert.throws(() => parseSize('lots'), /--max-output takes a size/);
  assert.throws(() => parseSize('0'), /--max-output takes a size/);
  assert.equal(parallelism(undefined, 50, 416, 24_000, 2), 2, 'cores');
  assert.equal(parallelism(undefined, 50, 416, 24_000, 2, 2), 4, 'two per core (TCG)');
  assert.equal(parallelism(undefined, 3, 416, 24_000, 2, 2), 3, 'two per core, no more than the units');
  assert.equal(parallelism(8, 50, 416, 24_000, 2), 8, 'asked for');
  assert.equal(parallelism(8, 3, 416, 24_000, 2), 3, 'no more than the units');
  assert.equal(parallelism(8, 50, 416, 1_200, 2), 2, 'memory: 80% of 1200 MiB holds two 416 MiB units');
  assert.equal(parallelism(8, 50, 4_000, 1_000, 2), 1, 'always at least one');
  assert.equal(parallelism(undefined, 50, 416, 24_000, 2, 3, 2), 3, 'three vCPUs per core: three units of two machines');
  assert.equal(parallelism(undefined, 50, 416, 24_000, 2, 3, 3), 2, 'three vCPUs per core: two units of three vCPUs');
  assert.equal(parallelism(undefined, 50, 416, 24_000, 2, 1, 4), 1, 'a unit bigger than the cores still runs');
  assert.equal(parallelism(6, 50, 416, 24_000, 2, 3, 4), 6, 'asked for: as asked');
});

test('what the limits saw is read from the kernel\'s cgroup counters by a command of its own, not from the submission\'s output', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'netlab-cg-'));
  try {
    const cmd = (root: string) => limitCountsCommand().replaceAll('/sys/fs/cgroup', root);
    assert.deepEqual(parseLimitCounts((await execa('bash', ['-c', cmd(join(dir, 'none'))])).stdout), { pids: 0, oom: 0 }, 'no cgroup: nothing counted');
    await mkdir(join(dir, 'cg', 'netlab-submission'), { recursive: true });
    await writeFile(join(dir, 'cg', 'netlab-submission', 'pids.events'), 'max 17\n');
    await writeFile(join(dir, 'cg', 'netlab-submission', 'memory.events'), 'low 0\nhigh 0\nmax 3\noom 1\noom_kill 2\n');
    assert.deepEqual(parseLimitCounts((await execa('bash', ['-c', cmd(join(dir, 'cg'))])).stdout), { pids: 17, oom: 2 });
    // The wrapper itself prints nothing about limits: a student's forged line is just output.
    assert.doesNotMatch(submissionCommand('true'), /NETLAB-LIMIT|echo "pids=/);
    assert.equal(parseLimitCounts('NETLAB-LIMIT pids=5 oom=0'), undefined);
    assert.equal(parseLimitCounts('pids=1 oom=0\npids=9 oom=9'), undefined);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the submission wrapper: a cgroup with a process limit, the command in /root/submission, its exit code kept', async () => {
  const cmd = submissionCommand('bash bridge.sh up');
  assert.match(cmd, new RegExp(`echo ${SUBMISSION_PIDS_MAX} > /sys/fs/cgroup/netlab-submission/pids\\.max`));
  assert.match(cmd, /\(cd \/root\/submission && bash bridge\.sh up\); rc=\$\?;/);
  assert.match(cmd, /exit \$rc$/);
  // Without cgroup2 (here: a path that cannot be a cgroup, never the host's) it still runs and keeps
  // the exit code.
  const dir = await mkdtemp(join(tmpdir(), 'netlab-nocg-'));
  try {
    const local = submissionCommand('exit 3').replaceAll('/sys/fs/cgroup', join(dir, 'none', 'cgroup')).replace('cd /root/submission && ', '');
    assert.ok(!local.includes('/sys/fs/cgroup'));
    await writeFile(join(dir, 'none'), 'a file: mkdir under it fails');
    const r = await execa('bash', ['-c', local], { reject: false });
    assert.equal(r.exitCode, 3);
    assert.ok(!r.stderr.includes('NETLAB-LIMIT'), r.stderr);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the broker: a lease lists down machines; health waits for one to go down; kill stops one with a reason', async () => {
  const { startBroker } = await import('../../runner/orchestrate/broker.ts');
  const { brokerClient } = await import('../../runner/protocol/broker-client.ts');
  const calls: string[] = [];
  let down: { machine: string; reason: string }[] = [];
  const broker = await startBroker({
    acquire: async (id) => ({ id, endpoints: [], kernel: { name: 'k', version: 'v' }, imageHash: 'h', accel: 'tcg', nics: {}, down }),
    release: async (id) => { calls.push(`release ${id}`); },
    health: async (id, waitMs) => { calls.push(`health ${id} ${waitMs}`); return { down }; },
    kill: async (id, machine, reason) => { calls.push(`kill ${id} ${machine} ${reason}`); down = [{ machine, reason }]; },
  });
  try {
    const client = brokerClient(broker.url);
    assert.deepEqual(await client.health('alice', 5000), { down: [] });
    await client.kill('alice', 'host', 'no answer & more');
    assert.deepEqual((await client.acquire('alice')).down, [{ machine: 'host', reason: 'no answer & more' }]);
    // The wait is capped: a worker cannot park a request for long.
    await client.health('alice', 999_999);
    await client.release('alice');
    assert.deepEqual(calls, ['health alice 5000', 'kill alice host no answer & more', 'health alice 30000', 'release alice']);
    // Another process that knows only the port, or a web page (its fetch carries Origin), is refused.
    const { origin, pathname } = new URL(broker.url);
    assert.match(pathname, /^\/[A-Za-z0-9_-]{32}$/);
    const other = await execa(process.execPath, ['-e', `fetch(${JSON.stringify(`${origin}/units/alice/kill?machine=host`)}, { method: 'POST' }).then((r) => console.log(r.status))`]);
    assert.equal(other.stdout, '404');
    const guessed = await fetch(`${origin}/${'A'.repeat(32)}/units/alice/release`, { method: 'POST' });
    assert.equal(guessed.status, 404);
    const page = await fetch(`${broker.url}/units/alice/release`, { method: 'POST', headers: { origin: 'http://evil.example' } });
    assert.equal(page.status, 404);
    assert.equal(calls.length, 4, 'no handler ran for a refused request');
  } finally {
    await broker.close();
  }
});

test('the broker starts and stops a capture on the host side of a link; without the backend\'s support, a clear error', async () => {
  const { startBroker } = await import('../../runner/orchestrate/broker.ts');
  const { brokerClient, BrokerError } = await import('../../runner/protocol/broker-client.ts');
  const calls: string[] = [];
  const base = { acquire: async () => { throw new Error('unused'); }, release: async () => {} };
  const broker = await startBroker({
    ...base,
    captureStart: async (id, capture) => { calls.push(`start ${id} ${capture}`); },
    captureStop: async (id, capture) => { calls.push(`stop ${id} ${capture}`); return { file: '/run/x/wan.pcap', bytes: 24 }; },
  });
  const without = await startBroker(base);
  try {
    const client = brokerClient(broker.url);
    await client.captureStart('alice', 'wan');
    assert.deepEqual(await client.captureStop('alice', 'wan'), { file: '/run/x/wan.pcap', bytes: 24 });
    assert.deepEqual(calls, ['start alice wan', 'stop alice wan']);
    await assert.rejects(brokerClient(without.url).captureStart('alice', 'wan'), (e) => e instanceof BrokerError && /no captures on the host/.test(e.message));
  } finally {
    await broker.close();
    await without.close();
  }
});
