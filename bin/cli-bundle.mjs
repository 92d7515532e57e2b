// The CLI as one esbuild bundle of runner/cli.ts and everything it imports (npm packages included),
// rebuilt when a source changes. It starts in ~0.2 s where the same sources through tsx take ~0.7 s:
// tsx's loader hooks cost a few ms for each of ~250 modules. Plain JavaScript: it runs before any
// TypeScript loader exists.
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const SOURCE_DIRS = ['runner', 'vm', 'reports'];
// Packages that stay outside: ssh2 loads native addons by path; Playwright and the TypeScript loaders
// are loaded only by the processes and paths that need them.
const EXTERNAL = ['ssh2', '@playwright/test', 'playwright', 'playwright-core', 'tsx', 'esbuild'];

async function sourceFiles(dir) {
  const out = [];
  for (const e of await readdir(join(root, dir), { withFileTypes: true })) {
    const rel = join(dir, e.name);
    if (e.isDirectory()) out.push(...await sourceFiles(rel));
    else if (e.name.endsWith('.ts')) out.push(rel);
  }
  return out;
}

// The bundle's name is the hash of everything it is built from, so a stale one is never run.
async function inputsHash() {
  const files = [...(await Promise.all(SOURCE_DIRS.map(sourceFiles))).flat().sort(), 'package-lock.json', 'bin/cli-bundle.mjs'];
  const h = createHash('sha256');
  for (const f of files) h.update(f).update('\0').update(await readFile(join(root, f))).update('\0');
  return h.digest('hex').slice(0, 16);
}

// Each module keeps its own import.meta.url (paths next to sources: lab-tests.ts, vm/guest/...).
const ownUrl = {
  name: 'own-import-meta-url',
  setup(build) {
    build.onLoad({ filter: /\.(ts|js|mjs|cjs)$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8');
      const loader = args.path.endsWith('.ts') ? 'ts' : 'js';
      if (!text.includes('import.meta.url')) return { contents: text, loader };
      return { contents: text.replaceAll('import.meta.url', `__netlabSourceUrl(${JSON.stringify(relative(root, args.path))})`), loader };
    });
  },
};

async function build(outFile) {
  const esbuild = await import('esbuild');
  const tmp = `${outFile}.${process.pid}.tmp`;
  await esbuild.build({
    entryPoints: [join(root, 'runner', 'cli.ts')], outfile: tmp, absWorkingDir: root,
    bundle: true, platform: 'node', format: 'esm', target: 'node20', external: EXTERNAL, logLevel: 'silent',
    define: { NETLAB_BUNDLE: 'true' }, plugins: [ownUrl],
    banner: { js: [
      "import { createRequire as __netlabRequire } from 'node:module';",
      "import { fileURLToPath as __netlabPath, pathToFileURL as __netlabUrl } from 'node:url';",
      'const require = __netlabRequire(import.meta.url);',
      // The bundle lives in <root>/node_modules/.cache/netlab-run/: sources are three levels up.
      "const __netlabSourceUrl = (rel) => __netlabUrl(__netlabPath(new URL('../../../', import.meta.url)) + rel).href;",
    ].join('\n') },
  });
  await rename(tmp, outFile);
}

/** A file: URL of a bundle built from the current sources, or undefined when none can be built. */
export async function cliBundle() {
  try {
    const dir = join(root, 'node_modules', '.cache', 'netlab-run');
    const file = join(dir, `cli-${await inputsHash()}.mjs`);
    if (!(await stat(file).catch(() => undefined))) {
      await mkdir(dir, { recursive: true });
      await build(file);
      for (const old of await readdir(dir)) if (old.startsWith('cli-') && join(dir, old) !== file && !old.endsWith('.tmp')) await rm(join(dir, old), { force: true });
    }
    return pathToFileURL(file).href;
  } catch {
    return undefined;
  }
}
