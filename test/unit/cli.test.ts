import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from '../helpers/cli.ts';

test('--help lists the options with examples and exit codes', async () => {
  const r = await runCli(['--help']);
  assert.equal(r.exitCode, 0);
  for (const s of ['--kernel', '--submission', '--out', '--keep', '--accel', '--reporter', '--json', '--list', 'Examples:', 'Exit codes', 'shell']) {
    assert.ok(r.stdout.includes(s), `help mentions ${s}`);
  }
});

test('--version prints the version', async () => {
  const r = await runCli(['--version']);
  assert.equal(r.exitCode, 0);
  assert.match(r.stdout.trim(), /^\d+\.\d+\.\d+$/);
});

test('an unknown flag is a usage error, exit 2, with a suggestion', async () => {
  const r = await runCli(['labs/bridge', '--kernal', 'debian:sid']);
  assert.equal(r.exitCode, 2);
  assert.match(r.stderr, /unknown option '--kernal'/);
  assert.match(r.stderr, /--kernel/);
});

test('a bad --accel value is a usage error', async () => {
  const r = await runCli(['labs/bridge', '--accel', 'hvf']);
  assert.equal(r.exitCode, 2);
  assert.match(r.stderr, /Allowed choices are kvm, tcg/);
});

test('a broken lab.yaml exits 2 naming file:line:column, no stack trace', async () => {
  const r = await runCli(['test/fixtures/labs/wrong-type']);
  assert.equal(r.exitCode, 2);
  assert.match(r.stderr, /test\/fixtures\/labs\/wrong-type\/lab\.yaml:12:13: checks\[1\]\.points/);
  assert.doesNotMatch(r.all ?? '', /\n\s+at .+\(.+:\d+:\d+\)/);
});

test('a YAML syntax error exits 2 with its position', async () => {
  const r = await runCli(['test/fixtures/labs/bad-yaml']);
  assert.equal(r.exitCode, 2);
  assert.match(r.stderr, /bad-yaml\/lab\.yaml:\d+:\d+:/);
});

test('a missing lab folder exits 2', async () => {
  const r = await runCli(['labs/no-such-lab']);
  assert.equal(r.exitCode, 2);
  assert.match(r.stderr, /labs\/no-such-lab/);
});

test('a missing submission file exits 2 and says what the lab runs', async () => {
  const r = await runCli(['labs/bridge', '--submission', 'nope.sh']);
  assert.equal(r.exitCode, 2);
  assert.match(r.stderr, /submission file not found: nope\.sh/);
  assert.match(r.stderr, /bash bridge\.sh up/);
});

test('--list shows checks and points without booting anything', async () => {
  const r = await runCli(['labs/bridge', '--list']);
  assert.equal(r.exitCode, 0);
  assert.match(r.stdout, /^bridge\s+Two containers on a Linux bridge/m);
  assert.match(r.stdout, /3\s+net1 reaches net2 through the bridge/);
  const j = await runCli(['labs/bridge', '--list', '--json']);
  const labs = JSON.parse(j.stdout) as { name: string; checks: { points: number }[] }[];
  assert.equal(labs[0]!.name, 'bridge');
  assert.equal(labs[0]!.checks.reduce((t, c) => t + c.points, 0), 22);
});

test('missing host tools (no qemu) exit 69 with the exact apt command', async () => {
  const r = await runCli(['labs/bridge'], { env: { PATH: '/nonexistent' } });
  assert.equal(r.exitCode, 69);
  assert.match(r.stderr, /qemu-system-x86_64/);
  assert.match(r.stderr, /apt-get install -y .*qemu-system-x86/);
});

test('a closed pipe (--list | head -1) ends quietly', async () => {
  const { execa } = await import('execa');
  const r = await execa('bash', ['-c', `node ${JSON.stringify((await import('../helpers/cli.ts')).cliPath)} labs --list | head -1`], { reject: false });
  assert.equal(r.exitCode, 0);
  assert.doesNotMatch(r.stderr, /EPIPE|Error/);
});
