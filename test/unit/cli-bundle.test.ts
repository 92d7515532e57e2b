// bin/netlab-run.mjs runs an esbuild bundle of the sources: built on first use, rebuilt when a source
// changes, with every module's import.meta.url still its own source file's. Checked on a copy of the
// checkout (its node_modules a folder of links, so the bundle lands in the copy).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, cp, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';

const repo = resolve('.');

async function copyCheckout(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'netlab-bundle-'));
  for (const p of ['bin', 'runner', 'vm', 'reports', 'labs', 'package.json', 'package-lock.json', 'tsconfig.json']) await cp(join(repo, p), join(root, p), { recursive: true });
  await mkdir(join(root, 'node_modules'));
  for (const e of await readdir(join(repo, 'node_modules'))) if (e !== '.cache') await symlink(join(repo, 'node_modules', e), join(root, 'node_modules', e));
  return root;
}

const bundles = async (root: string) => (await readdir(join(root, 'node_modules', '.cache', 'netlab-run'))).filter((f) => /^cli-[0-9a-f]{16}\.mjs$/.test(f));

test('the CLI bundle: built on first use, its modules find files beside their sources, rebuilt after a source changes', async (t) => {
  const root = await copyCheckout();
  t.after(() => rm(root, { recursive: true, force: true }));
  const cli = (args: string[], env: Record<string, string> = {}) => execa(process.execPath, [join(root, 'bin', 'netlab-run.mjs'), ...args], { cwd: root, reject: false, env });

  // package.json is read through cli.ts's import.meta.url: the copy's, not the repo's.
  const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8'));
  await writeFile(join(root, 'package.json'), JSON.stringify({ ...pkg, version: '9.9.9-copy' }));
  const v = await cli(['--version']);
  assert.equal(v.exitCode, 0, v.stderr);
  assert.equal(v.stdout.trim(), '9.9.9-copy');
  const first = await bundles(root);
  assert.equal(first.length, 1, 'one bundle after the first run');

  const list = await cli(['labs/bridge', '--list']);
  assert.equal(list.exitCode, 0, list.stderr);
  assert.match(list.stdout, /namespaces net1 and net2 exist/);

  await appendFile(join(root, 'runner', 'cli', 'cli.ts'), '\nprocess.stderr.write("rebuilt from the changed source\\n");\n');
  const again = await cli(['--version']);
  assert.match(again.stderr, /rebuilt from the changed source/);
  const second = await bundles(root);
  assert.equal(second.length, 1, 'the stale bundle is removed');
  assert.notEqual(second[0], first[0]);

  // NETLAB_TSX=1 runs the sources through tsx: the same answer.
  const tsx = await cli(['--version'], { NETLAB_TSX: '1' });
  assert.equal(tsx.stdout.trim(), '9.9.9-copy');
});

// Every file under `dir` with its size and mtime.
async function listing(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    const p = join(e.parentPath, e.name);
    const st = await stat(p);
    out.push(`${p.slice(dir.length)} ${st.size} ${st.mtimeMs}`);
  }
  return out.sort();
}

test('an installed copy (<course>/node_modules/netlab-run) writes nothing into itself: it runs its packed bundle, else tsx', async (t) => {
  const course = await mkdtemp(join(tmpdir(), 'netlab-installed-'));
  t.after(() => rm(course, { recursive: true, force: true }));
  const pkg = join(course, 'node_modules', 'netlab-run');
  await mkdir(pkg, { recursive: true });
  for (const p of ['bin', 'runner', 'vm', 'reports', 'package.json', 'scripts/pack-bundle.mjs']) await cp(join(repo, p), join(pkg, p), { recursive: true });
  // Its npm packages beside it, as npm installs them.
  for (const e of await readdir(join(repo, 'node_modules'))) if (e !== '.cache' && !e.startsWith('.')) await symlink(join(repo, 'node_modules', e), join(course, 'node_modules', e));
  const cli = () => execa(process.execPath, [join(pkg, 'bin', 'netlab-run.mjs'), '--version'], { cwd: course, reject: false });
  const version = JSON.parse(await readFile(join(repo, 'package.json'), 'utf8')).version;

  let before = await listing(pkg);
  const plain = await cli();
  assert.equal(plain.stdout.trim(), version, plain.stderr);
  assert.deepEqual(await listing(pkg), before, 'no bundle built into the installed copy');

  // What `npm pack` does (prepack): the bundle goes into the package, named by its sources' hash.
  const built = await execa(process.execPath, [join(pkg, 'scripts', 'pack-bundle.mjs')], { cwd: pkg });
  const [bundle] = (await readdir(join(pkg, 'dist'))).filter((f) => /^cli-[0-9a-f]{16}\.mjs$/.test(f));
  assert.ok(bundle, built.stderr);
  await appendFile(join(pkg, 'dist', bundle), '\nprocess.stderr.write("the packed bundle runs\\n");\n');
  before = await listing(pkg);
  const packed = await cli();
  assert.equal(packed.stdout.trim(), version, packed.stderr);
  assert.match(packed.stderr, /the packed bundle runs/);
  assert.deepEqual(await listing(pkg), before);

  // A source changed after packing: the packed bundle is stale, the sources run through tsx.
  await appendFile(join(pkg, 'runner', 'cli', 'cli.ts'), '\n// changed after packing\n');
  before = await listing(pkg);
  const stale = await cli();
  assert.equal(stale.stdout.trim(), version, stale.stderr);
  assert.doesNotMatch(stale.stderr, /the packed bundle runs/);
  assert.deepEqual(await listing(pkg), before);
});
