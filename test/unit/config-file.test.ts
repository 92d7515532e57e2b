// netlab.config.yaml: found from the current folder up to the repository root (or $NETLAB_CONFIG),
// validated with file:line:column errors like lab files, relative paths resolved against the file,
// and command-line flags winning over it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyConfig, findConfigFile, parseConfig } from '../../runner/cli/config-file.ts';
import { LabError } from '../../runner/lab/load.ts';
import { repo, runCli } from '../helpers/cli.ts';

const problems = (text: string) => {
  try { parseConfig(text, join(process.cwd(), 'netlab.config.yaml')); } catch (err) {
    assert.ok(err instanceof LabError, String(err));
    return err.message;
  }
  assert.fail('expected a LabError');
};

test('a valid file: kernels as written, paths absolute against the file\'s folder', () => {
  const c = parseConfig('kernels: [debian:bullseye, debian:bookworm, "debian:trixie:generic"]\nlabs: [labs]\nout: nightly\nworkers: 2\n', '/repo/ci/netlab.config.yaml');
  assert.deepEqual(c.config, { kernels: ['debian:bullseye', 'debian:bookworm', 'debian:trixie:generic'], labs: ['/repo/ci/labs'], out: '/repo/ci/nightly', workers: 2 });
  assert.equal(c.dir, '/repo/ci');
  assert.deepEqual(parseConfig('kernels: ["local:bz/vmlinuz:mods"]\n', '/repo/netlab.config.yaml').config.kernels, ['local:/repo/bz/vmlinuz:/repo/mods']);
  assert.deepEqual(parseConfig('# nothing yet\n', '/repo/netlab.config.yaml').config, {});
});

test('every problem at file:line:column: unknown keys (with a suggestion), bad kernels, wrong types, duplicates', () => {
  const msg = problems('kernels:\n  - debian:bookworm\n  - debian:jessie\n  - debian:bookworm\nkernal: [debian:sid]\nworkers: two\n');
  assert.match(msg, /^netlab\.config\.yaml:3:5: kernels\[1\]: invalid kernel 'debian:jessie': unknown Debian release 'jessie'$/m);
  assert.match(msg, /fix: use debian:bullseye, debian:bookworm, debian:trixie, debian:sid/);
  assert.match(msg, /^netlab\.config\.yaml:4:5: kernels\[2\]: debian:bookworm is listed twice$/m);
  assert.match(msg, /^netlab\.config\.yaml:5:1: kernal: unknown key "kernal"; did you mean kernels\?$/m);
  assert.match(msg, /^netlab\.config\.yaml:6:10: workers: expected a whole number ≥ 1$/m);
  assert.match(problems('kernels: debian:sid\n'), /:1:10: kernels: expected a list of kernels/);
  assert.match(problems('kernels: []\n'), /:1:10: kernels: expected at least one kernel/);
  assert.match(problems('kernels: [a\n'), /^netlab\.config\.yaml:2:1: YAML syntax: /);
  assert.match(problems('- debian:sid\n'), /^netlab\.config\.yaml:1:1: expected a mapping/);
});

test('found in the current folder or a parent up to the repository root; $NETLAB_CONFIG names one or none', async () => {
  const root = await mkdtemp(join(tmpdir(), 'netlab-cfg-'));
  await mkdir(join(root, 'repo', '.git'), { recursive: true });
  await mkdir(join(root, 'repo', 'labs', 'x'), { recursive: true });
  assert.equal(findConfigFile(join(root, 'repo', 'labs', 'x'), {}), undefined);
  await writeFile(join(root, 'netlab.config.yaml'), 'kernels: [debian:sid]\n'); // above the repository: not used
  assert.equal(findConfigFile(join(root, 'repo', 'labs', 'x'), {}), undefined);
  await writeFile(join(root, 'repo', 'netlab.config.yaml'), 'kernels: [debian:sid]\n');
  assert.equal(findConfigFile(join(root, 'repo', 'labs', 'x'), {}), join(root, 'repo', 'netlab.config.yaml'));
  assert.equal(findConfigFile(join(root, 'repo'), { NETLAB_CONFIG: 'none' }), undefined);
  assert.equal(findConfigFile(join(root, 'repo'), { NETLAB_CONFIG: 'ci.yaml' }), join(root, 'repo', 'ci.yaml'));
});

test('flags win: --kernel replaces kernels:, lab paths replace labs:, --out given replaces out:', () => {
  const loaded = parseConfig('kernels: [debian:bullseye, debian:sid]\nlabs: [labs]\nout: nightly\nworkers: 2\n', '/repo/netlab.config.yaml');
  const none = { paths: [] as string[], kernel: [] as string[], out: 'netlab-report', workers: undefined as number | undefined };
  assert.deepEqual(applyConfig(none, loaded, false), { paths: ['/repo/labs'], kernel: ['debian:bullseye', 'debian:sid'], out: '/repo/nightly', workers: 2 });
  assert.deepEqual(applyConfig({ paths: ['labs/veth'], kernel: ['debian:trixie'], out: 'x', workers: 1 }, loaded, true), { paths: ['labs/veth'], kernel: ['debian:trixie'], out: 'x', workers: 1 });
  assert.deepEqual(applyConfig(none, undefined, false), none);
});

test('the CLI reads it: labs: for --list, and a broken file exits 2 at file:line before any VM', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'netlab-cfg-cli-'));
  await mkdir(join(dir, '.git'));
  await writeFile(join(dir, 'netlab.config.yaml'), `labs: [${join(repo, 'labs/veth')}, ${join(repo, 'labs/bridge')}]\n`);
  const list = await runCli(['--list'], { cwd: dir });
  assert.equal(list.exitCode, 0, list.all);
  assert.match(list.stdout, /^veth /m);
  assert.match(list.stdout, /^bridge /m);
  await writeFile(join(dir, 'netlab.config.yaml'), 'labs: [x]\nkernels:\n  - debian:bookworm\n  - debian:potato\n');
  const bad = await runCli([join(repo, 'labs/veth')], { cwd: dir });
  assert.equal(bad.exitCode, 2, bad.all);
  assert.match(bad.stderr, /^error: netlab\.config\.yaml:4:5: kernels\[1\]: invalid kernel 'debian:potato'/m);
  const flagged = await runCli(['--list'], { cwd: dir, env: { NETLAB_CONFIG: 'none' } });
  assert.equal(flagged.exitCode, 2, 'without the file, the folder holds no lab');
});
