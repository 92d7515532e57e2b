// The CLI as one esbuild bundle of runner/cli/cli.ts and everything it imports (npm packages included).
// It starts in ~0.2 s where the same sources through tsx take ~0.7 s: tsx's loader hooks cost a few ms
// for each of ~250 modules. Plain JavaScript: it runs before any TypeScript loader exists.
//
// A packed package carries its bundle (dist/, built by `npm pack` through scripts/pack-bundle.mjs):
// an installed netlab-run (<course>/node_modules/netlab-run) never writes into its own folder, which
// may be read-only. A checkout builds it on first use into its own node_modules/.cache/netlab-run and
// rebuilds it when a source changes. Without either, bin/netlab-run.mjs runs the sources through tsx.
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const SOURCE_DIRS = ['runner', 'vm', 'reports'];
// Packages that stay outside: ssh2 loads native addons by path; Playwright and the TypeScript loaders
// are loaded only by the processes and paths that need them.
const EXTERNAL = ['ssh2', '@playwright/test', 'playwright', 'playwright-core', 'tsx', 'esbuild'];
/** Where `npm pack` puts the bundle, inside the package. */
export const PACKED_DIR = join(root, 'dist');
// Installed as a dependency: the same test Playwright uses to leave a file uncompiled.
const installed = root.split(sep).includes('node_modules');

async function sourceFiles(dir) {
  const out = [];
  for (const e of await readdir(join(root, dir), { withFileTypes: true })) {
    const rel = join(dir, e.name);
    // reports/fixtures/ holds test data, not part of a package.
    if (e.isDirectory()) { if (e.name !== 'fixtures') out.push(...await sourceFiles(rel)); }
    else if (e.name.endsWith('.ts')) out.push(rel);
  }
  return out;
}

// The bundle's name is the hash of everything it is built from, so a stale one is never run. The
// package's hash covers what a packed package holds; a checkout's adds its lockfile (the npm packages
// bundled in), which npm leaves out of a package. Of package.json only the fields that shape the
// bundle count: some package managers add their own fields to an installed copy.
async function inputsHash() {
  const files = [...(await Promise.all(SOURCE_DIRS.map(sourceFiles))).flat().sort(), 'bin/cli-bundle.mjs'];
  const h = createHash('sha256');
  for (const f of files) h.update(f).update('\0').update(await readFile(join(root, f))).update('\0');
  const { name, version, dependencies } = JSON.parse(await readFile(join(root, 'package.json'), 'utf8'));
  h.update(JSON.stringify({ name, version, dependencies }));
  const pkg = h.digest('hex').slice(0, 16);
  const lock = await readFile(join(root, 'package-lock.json')).catch(() => undefined);
  return { pkg, checkout: lock ? createHash('sha256').update(pkg).update(lock).digest('hex').slice(0, 16) : pkg };
}

// Each module keeps its own import.meta.url (paths next to sources: lab-tests.ts, vm/build/guest-files/...).
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

// `sourcesFromBundle`: the package root as seen from the bundle's folder ('../' from dist/).
async function build(outFile, sourcesFromBundle) {
  const esbuild = await import('esbuild');
  const tmp = `${outFile}.${process.pid}.tmp`;
  await esbuild.build({
    entryPoints: [join(root, 'runner', 'cli', 'cli.ts')], outfile: tmp, absWorkingDir: root,
    bundle: true, platform: 'node', format: 'esm', target: 'node20', external: EXTERNAL, logLevel: 'silent',
    define: { NETLAB_BUNDLE: 'true' }, plugins: [ownUrl],
    banner: { js: [
      "import { createRequire as __netlabRequire } from 'node:module';",
      "import { fileURLToPath as __netlabPath, pathToFileURL as __netlabUrl } from 'node:url';",
      'const require = __netlabRequire(import.meta.url);',
      `const __netlabSourceUrl = (rel) => __netlabUrl(__netlabPath(new URL(${JSON.stringify(sourcesFromBundle)}, import.meta.url)) + rel).href;`,
    ].join('\n') },
  });
  await rename(tmp, outFile);
}

/** A file: URL of a bundle built from the current sources, or undefined when none can be built. */
export async function cliBundle() {
  try {
    const hash = await inputsHash();
    const packed = join(PACKED_DIR, `cli-${hash.pkg}.mjs`);
    if (await stat(packed).catch(() => undefined)) return pathToFileURL(packed).href;
    if (installed) return undefined;
    const dir = join(root, 'node_modules', '.cache', 'netlab-run');
    const file = join(dir, `cli-${hash.checkout}.mjs`);
    if (!(await stat(file).catch(() => undefined))) {
      await mkdir(dir, { recursive: true });
      await build(file, '../../../');
      for (const old of await readdir(dir)) if (old.startsWith('cli-') && join(dir, old) !== file && !old.endsWith('.tmp')) await rm(join(dir, old), { force: true });
    }
    return pathToFileURL(file).href;
  } catch {
    return undefined;
  }
}

/** `npm pack`: the bundle the package carries (dist/cli-<hash>.mjs), built afresh. */
export async function packBundle() {
  await rm(PACKED_DIR, { recursive: true, force: true });
  await mkdir(PACKED_DIR);
  const file = join(PACKED_DIR, `cli-${(await inputsHash()).pkg}.mjs`);
  await build(file, '../');
  return file;
}
