// `netlab-run init [dir]`: a course repository that has netlab-run as a dependency. The files come
// from templates/course/ (a sample lab with its reference, one typical mistake and a TypeScript
// check; the staff README; a CI workflow; editor settings) and, for Gradescope, from this package's
// own docs/gradescope/ scripts, copied when init runs so that their fixes reach new courses.
import { chmod, copyFile, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../errors.ts';
import { EXIT } from '../exit-codes.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const TEMPLATES = join(ROOT, 'templates', 'course');

// npm leaves dotfiles such as .gitignore out of a package (or renames them): the templates hold them
// without their dot.
const RENAMES: Record<string, string> = { gitignore: '.gitignore', github: '.github' };

export interface InitResult { dir: string; files: string[] }

/** What `npm init` would accept as a package name, from the folder's name. */
export function packageName(dir: string): string {
  const name = basename(resolve(dir)).toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[._-]+|-+$/g, '');
  return name || 'course';
}

async function listTemplates(dir: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(dir, rel), { withFileTypes: true })) {
    const r = join(rel, e.name);
    if (e.isDirectory()) out.push(...await listTemplates(dir, r));
    else out.push(r);
  }
  return out.sort();
}

const targetPath = (rel: string) => rel.split('/').map((p, i) => (i === 0 ? RENAMES[p] ?? p : p)).join('/');

// A fresh folder, an empty one, or one holding only a new git repository.
async function checkTarget(dir: string, shown: string): Promise<void> {
  const st = await stat(dir).catch(() => undefined);
  if (!st) return;
  if (!st.isDirectory()) throw new UsageError(`init: ${shown} is a file, not a folder`, 'give a new folder\'s name: netlab-run init my-course');
  const entries = (await readdir(dir)).filter((e) => e !== '.git');
  if (entries.length > 0) {
    throw new UsageError(`init: ${shown} is not empty (${entries.slice(0, 3).join(', ')}${entries.length > 3 ? ', ...' : ''}); init writes a new course repository and overwrites nothing`,
      'give a new or empty folder: netlab-run init my-course');
  }
}

/** Writes the course repository into `dir` (created; must be new or empty). */
export async function initCourse(dirArg: string): Promise<InitResult> {
  const dir = resolve(dirArg);
  await checkTarget(dir, dirArg);
  const { version } = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  const written: string[] = [];
  const put = async (rel: string, text: string, mode?: number) => {
    const file = join(dir, rel);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, text, mode === undefined ? {} : { mode });
    written.push(rel);
  };

  await put('package.json', JSON.stringify({
    name: packageName(dir),
    private: true,
    type: 'module',
    scripts: { test: 'netlab-run verify labs/*' },
    devDependencies: { 'netlab-run': `^${version}` },
  }, null, 2) + '\n');
  const vars: Record<string, string> = { name: packageName(dir), version };
  for (const rel of await listTemplates(TEMPLATES)) {
    const src = join(TEMPLATES, rel);
    const text = (await readFile(src, 'utf8')).replace(/\{\{(\w+)\}\}/g, (m, k: string) => vars[k] ?? m);
    await put(targetPath(rel), text, (await stat(src)).mode & 0o777);
  }
  // Gradescope's scripts (setup.sh, run_autograder and their helpers), as this package ships them.
  const gradescope = join(ROOT, 'docs', 'gradescope');
  for (const e of await readdir(gradescope, { withFileTypes: true })) {
    if (!e.isFile()) continue;
    const to = join('gradescope', e.name);
    await mkdir(join(dir, 'gradescope'), { recursive: true });
    await copyFile(join(gradescope, e.name), join(dir, to));
    // Gradescope runs run_autograder directly: the scripts must stay executable.
    if (!e.name.endsWith('.md')) await chmod(join(dir, to), 0o755);
    written.push(to);
  }
  return { dir, files: written.sort() };
}

export async function initCommand(dirArg: string | undefined): Promise<number> {
  const shown = dirArg ?? '.';
  const { dir, files } = await initCourse(shown);
  const out = process.stdout;
  out.write(`init: a course repository in ${relative(process.cwd(), dir) || '.'}:\n`);
  for (const f of files) out.write(`  ${f}\n`);
  const quoted = (p: string) => (/^[\w./-]+$/.test(p) ? p : `'${p.replaceAll("'", "'\\''")}'`);
  const cd = dirArg && resolve(dirArg) !== process.cwd() ? `cd ${quoted(dirArg)} && ` : '';
  out.write(`\nnext:\n  ${cd}npm install\n  npx netlab-run labs/mylab      # grades the sample lab's reference solution (boots a VM)\n`);
  return EXIT.passed;
}
