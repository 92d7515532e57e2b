// `netlab-run init [dir]`: a course repository, written only into a new or empty folder; its sample
// lab loads (schema, spec check importing netlab-run/lab, examples) and its Gradescope scripts are
// this package's own. The scaffold graded on VMs from a packed install: test/e2e/course-repo.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';

import { dirname, join, resolve } from 'node:path';
import { tempDir } from '../helpers/temp-dirs.ts';
import { execa } from 'execa';
import { parse } from 'yaml';
import { loadLab } from '../../runner/lab/load.ts';
import { packageName } from '../../runner/cli/init-command.ts';
import { repo, runCli } from '../helpers/cli.ts';

const version = (JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { version: string }).version;

test('init refuses a folder that is not empty, or a file: exit 2 with the fix, nothing written', async () => {
  const dir = await tempDir('netlab-init-');
  writeFileSync(join(dir, 'notes.txt'), 'mine');
  const r = await runCli(['init', dir]);
  assert.equal(r.exitCode, 2, r.all);
  assert.match(r.stderr, /error: init: .* is not empty \(notes\.txt\); init writes a new course repository and overwrites nothing/);
  assert.match(r.stderr, /fix: give a new or empty folder: netlab-run init my-course/);
  assert.deepEqual(readdirSync(dir), ['notes.txt']);
  const file = await runCli(['init', join(dir, 'notes.txt')]);
  assert.equal(file.exitCode, 2, file.all);
  assert.match(file.stderr, /notes\.txt is a file, not a folder/);
  // Without an argument: the current folder.
  const here = await runCli(['init'], { cwd: dir });
  assert.equal(here.exitCode, 2, here.all);
  assert.match(here.stderr, /init: \. is not empty/);
});

test('init writes the course repository, prints its files and the next two commands', async () => {
  const parent = await tempDir('netlab-init-');
  const dir = join(parent, 'Net Course 2025');
  const r = await runCli(['init', dir], { cwd: parent });
  assert.equal(r.exitCode, 0, r.all);
  const files = ['.github/workflows/labs.yml', '.gitignore', 'README.md', 'gradescope/make-zip.sh', 'labs/mylab/README.md', 'labs/mylab/checks.spec.ts',
    'labs/mylab/examples/forgot-lo.sh', 'labs/mylab/lab.yaml', 'labs/mylab/solution/lab.sh', 'package.json', 'tsconfig.json'];
  const shipped = readdirSync(join(repo, 'docs', 'gradescope')).map((f) => `gradescope/${f}`);
  for (const f of [...files, ...shipped]) {
    assert.ok(statSync(join(dir, f)).isFile(), f);
    assert.match(r.stdout, new RegExp(`^ {2}${f.replace(/[.*]/g, '\\$&')}$`, 'm'));
  }
  assert.match(r.stdout, /\nnext:\n {2}cd '.*Net Course 2025' && npm install\n {2}npx netlab-run labs\/mylab /);

  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  assert.deepEqual(pkg, { name: 'net-course-2025', private: true, type: 'module', scripts: { test: 'netlab-run verify labs/*' }, devDependencies: { 'netlab-run': `^${version}` } });
  assert.deepEqual(readFileSync(join(dir, '.gitignore'), 'utf8').split('\n').filter(Boolean).slice(0, 2), ['node_modules/', 'netlab-report/']);
  assert.match(readFileSync(join(dir, 'README.md'), 'utf8'), /^# net-course-2025: /);
  const workflow = parse(readFileSync(join(dir, '.github/workflows/labs.yml'), 'utf8')) as { jobs: { verify: { steps: { run?: string }[] } } };
  assert.ok(workflow.jobs.verify.steps.some((s) => s.run === 'npx netlab-run verify labs/*'));
  // Gradescope's scripts are copied from this package as they are, executable.
  for (const f of shipped) {
    assert.equal(readFileSync(join(dir, f), 'utf8'), readFileSync(join(repo, 'docs', f), 'utf8'), f);
    assert.equal(statSync(join(dir, f)).mode & 0o111, 0o111, `${f} is executable`);
  }
  // The schema line of lab.yaml points where npm puts netlab-run's schema, seen from lab.yaml.
  const schema = /^# yaml-language-server: \$schema=(\S+)$/m.exec(readFileSync(join(dir, 'labs/mylab/lab.yaml'), 'utf8'))![1]!;
  assert.equal(resolve(dir, 'labs/mylab', schema), join(dir, 'node_modules/netlab-run/labs/lab.schema.json'));
});

test('init takes an empty folder, or one holding only a new git repository', async () => {
  const dir = await tempDir('netlab-init-');
  mkdirSync(join(dir, '.git'));
  const r = await runCli(['init'], { cwd: dir });
  assert.equal(r.exitCode, 0, r.all);
  assert.match(r.stdout, /\nnext:\n {2}npm install\n/, 'no cd into the current folder');
  assert.ok(statSync(join(dir, 'labs/mylab/lab.yaml')).isFile());
});

test('the sample lab loads: its spec check imports netlab-run/lab, its example names a real check', async () => {
  const dir = join(await tempDir('netlab-init-'), 'course');
  assert.equal((await runCli(['init', dir])).exitCode, 0);
  // As npm would install it: node_modules/netlab-run (here, a link to this checkout).
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(repo, join(dir, 'node_modules', 'netlab-run'));
  const { lab, specFiles } = await loadLab(join(dir, 'labs/mylab'));
  assert.equal(lab.name, 'mylab');
  assert.deepEqual(lab.checks.map((c) => [c.id, c.kind, c.points]),
    [['blue-exists', 'run', 1], ['lo-is-up-in-blue', 'run', 1], ['addresses', 'spec', 2], ['host-reaches-blue', 'run', 2]]);
  assert.deepEqual(specFiles, [join(dir, 'labs/mylab/checks.spec.ts')]);
  assert.equal(lab.examples.length, 1);
  const [ex] = lab.examples;
  assert.ok(statSync(join(dir, 'labs/mylab', ex!.file)).isFile());
  assert.equal(ex!.score, 5);
  for (const id of ex!.failed ?? []) assert.ok(lab.checks.some((c) => c.id === id), `examples names check ${id}`);
  assert.ok(statSync(join(dirname(join(dir, 'labs/mylab/lab.yaml')), lab.submission!.reference!)).isFile());
});

test('the package name comes from the folder name', () => {
  assert.equal(packageName('/x/Net Course 2025'), 'net-course-2025');
  assert.equal(packageName('/x/.hidden'), 'hidden');
  assert.equal(packageName('/x/___'), 'course');
});

// The course's Gradescope zip (gradescope/make-zip.sh) holds the course's package.json, not a
// netlab-run/ folder: setup.sh installs netlab-run there with npm ci and warms up from the installed
// package. Every command setup.sh calls is a stub that logs where it ran (test/unit/gradescope-setup.test.ts
// covers the Ubuntu side).
test('the course zip from make-zip.sh: the Gradescope scripts at its root, setup.sh installs netlab-run with npm ci', async () => {
  const root = await tempDir('netlab-init-zip-');
  const course = join(root, 'course');
  assert.equal((await runCli(['init', course])).exitCode, 0);
  writeFileSync(join(course, 'package-lock.json'), '{}\n');
  const zip = await execa('bash', [join(course, 'gradescope/make-zip.sh'), 'labs/mylab/'], { cwd: root, reject: false, all: true });
  assert.equal(zip.exitCode, 0, zip.all);
  const src = join(root, 'ag', 'source');
  mkdirSync(src, { recursive: true });
  await execa('unzip', ['-q', join(course, 'autograder-mylab.zip'), '-d', src]);
  const shipped = readdirSync(join(repo, 'docs', 'gradescope'));
  assert.deepEqual(readdirSync(src).sort(), [...shipped, 'lab', 'package-lock.json', 'package.json'].sort());
  assert.ok(statSync(join(src, 'lab', 'checks.spec.ts')).isFile());

  const bin = join(root, 'bin');
  mkdirSync(bin);
  const log = join(root, 'log');
  const stub = (name: string, body = '') => {
    writeFileSync(join(bin, name), `#!/bin/bash\necho "${name} $* (in $PWD)" >> "${log}"\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  };
  for (const name of ['apt-get', 'curl', 'gpgv']) stub(name);
  stub('npm', 'mkdir -p node_modules/netlab-run');
  stub('qemu-system-x86_64', 'echo "QEMU emulator version 8.2.2"');
  stub('node');
  writeFileSync(join(root, 'os-release'), 'ID=ubuntu\nVERSION_ID="24.04"\n');
  writeFileSync(join(root, 'keyring.gpg'), 'a keyring that checks (gpgv is a stub)');
  writeFileSync(log, '');
  const r = await execa('bash', [join(src, 'setup.sh')], {
    reject: false, all: true, env: { PATH: `${bin}:/usr/bin:/bin`, AUTOGRADER_ROOT: join(root, 'ag'), NETLAB_OS_RELEASE: join(root, 'os-release'), NETLAB_DEBIAN_KEYRING: join(root, 'keyring.gpg') },
  });
  assert.equal(r.exitCode, 0, r.all);
  const lines = readFileSync(log, 'utf8').trim().split('\n');
  assert.ok(lines.includes(`npm ci --no-audit --no-fund --loglevel=error (in ${src})`), lines.join('\n'));
  assert.ok(lines.some((l) => l.startsWith('curl ') && l.includes('InRelease')), 'debian-keyring.sh ran from beside setup.sh');
  assert.equal(lines.at(-1), `node bin/netlab-run.mjs ${src}/lab --out /tmp/netlab-warmup (in ${src}/node_modules/netlab-run)`);
});
