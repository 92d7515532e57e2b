// Gradescope's autograder, run here against a simulated /autograder tree: docs/gradescope/run_autograder
// grades the submission with netlab-run (TCG, as on Gradescope) and writes a results.json that
// follows Gradescope's specification; the mirror choice runs as on Gradescope's Ubuntu (an apt folder of
// Ubuntu 24.04's shape, and a kernel fetched afresh from Debian's main mirror). Ubuntu 22.04's old
// Debian keyring is replaced by Debian's current one (debian-keyring.sh, against Debian's mirror). And a
// student's poweroff is a graded failure (exit 1), not an infrastructure error (69).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { repo, runCli } from '../helpers/cli.ts';
import { GradescopeResults } from '../helpers/gradescope.ts';
import { qemuPidsUnder } from '../helpers/processes.ts';

test('run_autograder writes a valid results.json from /autograder/submission (nested, as uploaded), on an Ubuntu-shaped host', async () => {
  const ag = await mkdtemp(join(tmpdir(), 'netlab-ag-'));
  const runtime = await mkdtemp(join(tmpdir(), 'netlab-ag-rt-'));
  mkdirSync(join(ag, 'submission', 'my-work'), { recursive: true });
  copyFileSync(join(repo, 'labs/bridge/examples/no-default-route.sh'), join(ag, 'submission', 'my-work', 'bridge.sh'));
  const r = await execa('bash', [join(repo, 'docs/gradescope/run_autograder')], {
    reject: false, all: true, timeout: 300_000,
    // The host's apt sources are Ubuntu's; the kernel is fetched afresh, so the mirror is chosen for real.
    env: {
      AUTOGRADER_ROOT: ag, NETLAB_RUN_DIR: repo, NETLAB_LAB: join(repo, 'labs/bridge'), NETLAB_RUNTIME_DIR: runtime, NO_COLOR: '1',
      NETLAB_APT_DIR: join(repo, 'test/fixtures/apt/ubuntu-24.04'), NETLAB_REFRESH_KERNELS: '1', NETLAB_MIRROR: '',
    },
  });
  assert.equal(r.exitCode, 0, r.all);
  assert.match(r.all ?? '', /netlab-run exited 1/);
  assert.match(r.all ?? '', /^netlab mirror: http:\/\/deb\.debian\.org\/debian \(Debian's main mirror: the host's apt sources serve no Debian \(http:\/\/archive\.ubuntu\.com\/ubuntu noble\)/m);
  assert.match(r.all ?? '', /^netlab kernel debian:bookworm: (kernel debian:bookworm → \S+ ready|kernel \S+ is already in the cache)/m);
  const results = JSON.parse(readFileSync(join(ag, 'results', 'results.json'), 'utf8'));
  const parsed = GradescopeResults.safeParse(results);
  assert.ok(parsed.success, JSON.stringify(!parsed.success && parsed.error.issues));
  assert.equal(results.score, 20);
  assert.equal(results.tests.length, 14);
  const failed = results.tests.filter((t: { status: string }) => t.status === 'failed');
  assert.deepEqual(failed.map((t: { name: string; score: number; max_score: number }) => [t.name, t.score, t.max_score]), [['both namespaces route by default via 10.100.0.1', 0, 2]]);
  assert.match(failed[0].output, /Hint: Each namespace needs `ip route add default via 10\.100\.0\.1`/);
  assert.deepEqual(qemuPidsUnder(runtime), []);
  assert.deepEqual(readdirSync(runtime), []);
});

test('run_autograder without the expected file: score 0 and what to submit, exit 0', async () => {
  const ag = await mkdtemp(join(tmpdir(), 'netlab-ag-'));
  mkdirSync(join(ag, 'submission'), { recursive: true });
  for (const f of ['a.sh', 'b.sh']) copyFileSync(join(repo, 'labs/bridge/solution/bridge.sh'), join(ag, 'submission', f));
  const r = await execa('bash', [join(repo, 'docs/gradescope/run_autograder')], {
    reject: false, all: true, env: { AUTOGRADER_ROOT: ag, NETLAB_RUN_DIR: repo, NETLAB_LAB: join(repo, 'labs/bridge') },
  });
  assert.equal(r.exitCode, 0, r.all);
  const results = JSON.parse(readFileSync(join(ag, 'results', 'results.json'), 'utf8'));
  assert.ok(GradescopeResults.safeParse(results).success);
  assert.equal(results.score, 0);
  assert.match(results.output, /^Submit one file named bridge\.sh \(found: .*a\.sh/);
});

test('one submission that powers its machine off: graded 0 with status crashed, exit 1 (not 69)', async () => {
  const out = await mkdtemp(join(tmpdir(), 'netlab-poweroff-'));
  const runtime = await mkdtemp(join(tmpdir(), 'netlab-poweroff-rt-'));
  const started = Date.now();
  const r = await runCli(['labs/bridge', '--submission', 'test/fixtures/submissions/hostile/poweroff.sh', '--out', out], { env: { NETLAB_RUNTIME_DIR: runtime }, timeoutMs: 300_000 });
  assert.equal(r.exitCode, 1, r.all);
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  assert.deepEqual([summary.status, summary.submissionStatus, summary.score, summary.maxScore], ['failed', 'crashed', 0, 22]);
  assert.match(summary.submissionDetail, /\[host\] the guest powered off or crashed/);
  assert.ok(summary.checks.every((c: { status: string }) => c.status === 'error'));
  assert.match(readFileSync(join(out, 'index.html'), 'utf8'), /Your submission crashed/);
  // Fast: no check waited on SSH for a machine that is gone.
  assert.ok(Date.now() - started < 90_000, `took ${Date.now() - started} ms`);
  assert.deepEqual(qemuPidsUnder(runtime), []);
  assert.deepEqual(readdirSync(runtime), []);
});

test('debian-keyring.sh: a keyring too old for bookworm (Ubuntu 22.04\'s) is replaced by Debian\'s current one', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'netlab-keyring-'));
  // Ubuntu 22.04's debian-archive-keyring (2021) has the bullseye keys and none that sign bookworm today.
  const old = join(dir, 'debian-archive-keyring.gpg');
  copyFileSync('/usr/share/keyrings/debian-archive-bullseye-automatic.gpg', old);
  const inRelease = join(dir, 'InRelease');
  await execa('curl', ['-fsSL', 'https://deb.debian.org/debian/dists/bookworm/InRelease', '-o', inRelease]);
  assert.equal((await execa('gpgv', ['--keyring', old, inRelease], { reject: false })).exitCode, 2, 'the old keyring cannot check bookworm');
  const script = join(repo, 'docs/gradescope/debian-keyring.sh');
  const first = await execa('bash', [script], { env: { NETLAB_DEBIAN_KEYRING: old }, all: true });
  assert.match(first.all ?? '', /installed Debian's debian-archive-keyring_[^ ]+_all\.deb: .* checks Debian's bookworm/);
  assert.equal((await execa('gpgv', ['--keyring', old, inRelease], { reject: false })).exitCode, 0);
  const again = await execa('bash', [script], { env: { NETLAB_DEBIAN_KEYRING: old }, all: true });
  assert.match(again.all ?? '', /checks Debian's bookworm already/);
});
