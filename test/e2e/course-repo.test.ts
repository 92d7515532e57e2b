// A course repository that uses netlab-run as a dependency, end to end: this repository packed with
// `npm pack`, `netlab-run init` into a folder outside it, the tarball installed there with npm, then
// the sample lab graded with `npx netlab-run` (reference, the declared mistake, `verify`) on real VMs.
// node_modules is never written to: its listing (path, size, mtime) is the same before and after,
// and the reference is graded with node_modules mounted read-only (as root, in a mount namespace).
// The course's Gradescope zip grades a submission through run_autograder in a simulated /autograder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { execa } from 'execa';
import { cliPath, repo } from '../helpers/cli.ts';

interface Check { id: string; status: string; points: number; maxPoints: number; commands: { command: string; stdout: string }[] }
interface Result { score: number; maxScore: number; checks: Check[] }

const started = Date.now();
const work = await mkdtemp(join(tmpdir(), 'netlab-course-repo-'));
const course = join(work, 'course');
const nodeModules = join(course, 'node_modules');
const env = { NO_COLOR: '1' };

// Every file and folder under `dir`: path, size and mtime (symbolic links not followed).
function listing(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      const st = lstatSync(p);
      out.push(`${p.slice(dir.length)} ${st.size} ${st.mtimeMs}`);
      if (st.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out.sort();
}

// `npx netlab-run ...` in the course; with `readOnly`, as root, inside a mount namespace where
// node_modules is a read-only bind mount of itself.
function netlab(args: string[], readOnly = false) {
  const cmd = ['npx', 'netlab-run', ...args];
  const ro = readOnly && process.getuid?.() === 0;
  return execa(ro ? 'unshare' : cmd[0]!, ro
    ? ['--mount', '--propagation', 'private', 'sh', '-c', 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"', 'sh', nodeModules, ...cmd]
    : cmd.slice(1), { cwd: course, reject: false, all: true, timeout: 300_000, env });
}

const result = (out: string) => JSON.parse(readFileSync(join(course, out, 'result.json'), 'utf8')) as Result;

test('npm pack, netlab-run init, npm i -D the tarball: the sample lab grades, verifies, and node_modules stays untouched', async (t) => {
  const pack = await execa('npm', ['pack', '--json', '--pack-destination', work], { cwd: repo, env });
  const [packed] = JSON.parse(pack.stdout) as { filename: string; size: number; files: { path: string }[] }[];
  const tarball = join(work, packed!.filename);
  const paths = packed!.files.map((f) => f.path);
  assert.ok(paths.some((p) => /^dist\/cli-[0-9a-f]{16}\.mjs$/.test(p)), 'the packed CLI bundle');
  assert.ok(paths.includes('labs/lab.schema.json') && paths.includes('templates/course/labs/mylab/lab.yaml'));
  assert.deepEqual(paths.filter((p) => /^(test|bench|labs\/(?!lab\.schema\.json))|(^|\/)fixtures\//.test(p)), [], 'no tests, bench, labs or fixtures');
  assert.ok(!existsSync(join(repo, 'dist')), 'postpack removed the bundle from the checkout');
  t.diagnostic(`tarball ${packed!.filename}: ${packed!.size} bytes, ${paths.length} files`);

  const init = await execa(process.execPath, [cliPath, 'init', course], { reject: false, all: true, env });
  assert.equal(init.exitCode, 0, init.all);
  assert.match(init.stdout, /labs\/mylab\/lab\.yaml/);
  assert.match(init.stdout, /npm install\n {2}npx netlab-run labs\/mylab/);
  const installStart = Date.now();
  const npm = await execa('npm', ['i', '-D', tarball, '--prefer-offline', '--no-audit', '--no-fund'], { cwd: course, reject: false, all: true, env });
  assert.equal(npm.exitCode, 0, npm.all);
  t.diagnostic(`npm i -D of the tarball: ${((Date.now() - installStart) / 1000).toFixed(1)} s`);

  // The editor's schema line resolves from where lab.yaml sits, to the schema the package ships.
  const labYaml = join(course, 'labs', 'mylab', 'lab.yaml');
  const schemaRef = /^# yaml-language-server: \$schema=(\S+)$/m.exec(readFileSync(labYaml, 'utf8'))?.[1];
  assert.ok(schemaRef, 'lab.yaml names its schema');
  const schemaFile = resolve(dirname(labYaml), schemaRef);
  assert.equal(schemaFile, join(nodeModules, 'netlab-run', 'labs', 'lab.schema.json'));
  assert.deepEqual(JSON.parse(readFileSync(schemaFile, 'utf8')), JSON.parse(readFileSync(join(repo, 'labs', 'lab.schema.json'), 'utf8')));

  // The spec check's `import ... from 'netlab-run/lab'` typechecks in the course (its tsconfig.json).
  const tsc = await execa(process.execPath, [join(repo, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', course], { reject: false, all: true });
  assert.equal(tsc.exitCode, 0, tsc.all);

  // init from the installed package writes the same repository as from this checkout (but for the
  // name, taken from the folder's).
  const again = join(work, 'course-again');
  const init2 = await netlab(['init', again]);
  assert.equal(init2.exitCode, 0, init2.all);
  const tree = (d: string) => listing(d).map((l) => l.split(' ')[0]!).filter((p) => !/^\/(node_modules|package-lock\.json)/.test(p));
  assert.deepEqual(tree(again), tree(course));
  for (const p of tree(again).filter((f) => lstatSync(join(again, f)).isFile() && f !== '/package.json')) {
    assert.ok(readFileSync(join(again, p), 'utf8').replaceAll('course-again', 'course') === readFileSync(join(course, p), 'utf8'), `${p} differs`);
  }

  const before = listing(nodeModules);
  await t.test('the reference gets full marks (node_modules read-only), the spec check ran', async () => {
    const r = await netlab(['labs/mylab', '--out', 'reference'], true);
    assert.equal(r.exitCode, 0, r.all);
    const res = result('reference');
    assert.equal(res.score, 6);
    assert.equal(res.maxScore, 6);
    const spec = res.checks.find((c) => c.id === 'addresses')!;
    assert.equal(spec.status, 'passed');
    assert.equal(spec.points, 2);
    assert.deepEqual(spec.commands.map((c) => c.command), ['ip -j -4 addr show dev veth0', 'ip -n blue -j -4 addr show dev veth1']);
  });
  await t.test('the declared mistake gets its partial score (exit 1)', async () => {
    const r = await netlab(['labs/mylab', '--submission', 'labs/mylab/examples/forgot-lo.sh', '--out', 'mistake']);
    assert.equal(r.exitCode, 1, r.all);
    const res = result('mistake');
    assert.equal(res.score, 5);
    assert.deepEqual(res.checks.filter((c) => c.status !== 'passed').map((c) => c.id), ['lo-is-up-in-blue']);
    assert.equal(res.checks.find((c) => c.id === 'addresses')!.status, 'passed');
  });
  await t.test('netlab-run verify labs/mylab: the reference and the example grade as declared', async () => {
    const r = await netlab(['verify', 'labs/mylab']);
    assert.equal(r.exitCode, 0, r.all);
    assert.match(r.stdout, /forgot-lo +5\/6/);
  });
  await t.test('Gradescope: the course\'s autograder zip (gradescope/make-zip.sh) grades a submission with run_autograder', async () => {
    const zip = await execa('bash', ['gradescope/make-zip.sh', 'labs/mylab'], { cwd: course, reject: false, all: true });
    assert.equal(zip.exitCode, 0, zip.all);
    // A simulated /autograder: the zip unpacked in source/, node_modules as setup.sh's npm ci leaves it.
    const ag = join(work, 'autograder');
    mkdirSync(join(ag, 'source'), { recursive: true });
    await execa('unzip', ['-q', join(course, 'autograder-mylab.zip'), '-d', join(ag, 'source')]);
    symlinkSync(nodeModules, join(ag, 'source', 'node_modules'));
    mkdirSync(join(ag, 'submission'));
    copyFileSync(join(course, 'labs/mylab/examples/forgot-lo.sh'), join(ag, 'submission', 'lab.sh'));
    const r = await execa('bash', [join(ag, 'source', 'run_autograder')], { reject: false, all: true, timeout: 300_000, env: { ...env, AUTOGRADER_ROOT: ag } });
    assert.equal(r.exitCode, 0, r.all);
    assert.match(r.all ?? '', /netlab-run exited 1/);
    const results = JSON.parse(readFileSync(join(ag, 'results', 'results.json'), 'utf8')) as { score: number; tests: { name: string; status: string }[] };
    assert.equal(results.score, 5);
    assert.deepEqual(results.tests.filter((x) => x.status === 'failed').map((x) => x.name), ['lo is up in blue']);
  });
  assert.deepEqual(listing(nodeModules), before, 'nothing under node_modules changed');
  t.diagnostic(`wall time ${((Date.now() - started) / 1000).toFixed(1)} s`);
});
