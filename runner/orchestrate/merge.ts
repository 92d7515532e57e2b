// `netlab-run merge <dirs...> --out DIR`: the reports of a run split over machines with --shard i/n.
// Each shard left a Playwright blob report (<out>/blob-report/report-i.zip) holding its units'
// results with their project metadata; `playwright merge-reports` replays them all through the
// netlab reporter, which grades them again into DIR (the run settings' outDir moves every unit's folder
// there), then the matrix is built exactly as after a single run.
import { copyFile, mkdir, mkdtemp, readdir, readFile, realpath, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { createColors } from 'picocolors';
import { UsageError } from '../errors.ts';
import { wireEnv } from '../protocol/wire.ts';
import { EXIT } from '../exit-codes.ts';
import { finishMatrix, loadBaseline } from './matrix-run.ts';
import { playwrightCli, playwrightNodeEnv } from '../playwright/config.ts';
import type { UnitOutcome } from './run.ts';

const here = dirname(fileURLToPath(import.meta.url));

export interface MergeOptions {
  out: string;
  baseline?: string;
  allowKnown: boolean;
  json: boolean;
  verbose: boolean;
  signal?: AbortSignal;
}

// Blob reports named by paths: .zip files, or folders searched for Playwright's blob file names
// (report.zip, report-<shard>.zip): a shard's --out folder, its blob-report folder, or a folder of
// downloaded CI artifacts (blobs/blob-report-1/report-1.zip). De-duplicated, sorted.
export async function findBlobReports(paths: string[]): Promise<string[]> {
  const found = new Set<string>();
  const walk = async (dir: string, depth: number) => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      const p = join(dir, e.name);
      if (e.isFile() && /^report(-\d+)?\.zip$/.test(e.name)) found.add(await realpath(p));
      else if (e.isDirectory() && depth < 5 && !['captures', 'playwright-report', 'test-results', 'data', 'node_modules'].includes(e.name)) await walk(p, depth + 1);
    }
  };
  for (const p of paths) {
    const s = await stat(p).catch(() => undefined);
    if (!s) throw new UsageError(`merge: no such file or folder ${p}`, 'give the --out folders of the shards (or their blob-report folders)');
    if (s.isFile()) {
      if (!p.endsWith('.zip')) throw new UsageError(`merge: ${p} is not a blob report (.zip)`, 'give the --out folders of the shards (or their blob-report folders)');
      found.add(await realpath(p));
    } else {
      await walk(resolve(p), 0);
    }
  }
  return [...found].sort();
}

// Merges the shards' blob reports into one report folder; returns the exit code (as the single run's).
export async function mergeCommand(paths: string[], o: MergeOptions): Promise<number> {
  const baseline = o.baseline ? await loadBaseline(o.baseline) : undefined;
  const zips = await findBlobReports(paths);
  if (zips.length === 0) {
    throw new UsageError(`merge: no blob report in ${paths.join(', ')}`, 'run each shard with --shard i/n (it writes <out>/blob-report/report-i.zip), then merge those folders');
  }
  const outDir = resolve(o.out);
  await mkdir(outDir, { recursive: true });
  const work = await mkdtemp(join(tmpdir(), 'netlab-merge-'));
  try {
    // merge-reports reads one folder (and unpacks into it): copies, named apart, keep the inputs intact.
    const blobs = join(work, 'blobs');
    await mkdir(blobs);
    const names = new Set<string>();
    for (const [i, z] of zips.entries()) {
      const name = names.has(basename(z)) ? `${String(i).padStart(3, '0')}-${basename(z)}` : basename(z);
      names.add(name);
      await copyFile(z, join(blobs, name));
    }
    const config = join(work, 'merge.config.mjs');
    await writeFile(config, `export default ${JSON.stringify({
      reporter: [[join(here, '..', 'playwright', 'netlab-reporter.ts')], ['html', { open: 'never', outputFolder: join(outDir, 'playwright-report') }]],
    }, null, 2)};\n`);
    const resultsFile = join(work, 'results.json');
    const r = await execa(process.execPath, [playwrightCli(), 'merge-reports', '--config', config, blobs], {
      reject: false, all: true, cancelSignal: o.signal,
      env: { ...playwrightNodeEnv(), ...wireEnv({ outDir, resultsFile }), PLAYWRIGHT_HTML_OPEN: 'never', FORCE_COLOR: '0' },
    });
    if (o.verbose) process.stderr.write(r.all ?? '');
    let results: { interrupted: boolean; units: UnitOutcome[] };
    try {
      results = JSON.parse(await readFile(resultsFile, 'utf8'));
    } catch {
      throw new UsageError(`merge: playwright merge-reports failed (exit ${r.exitCode}): ${(r.all ?? '').trim().split('\n').slice(-3).join(' | ')}`,
        'give blob reports written by netlab-run --shard i/n of the same netlab-run version');
    }
    const exit = results.interrupted ? EXIT.interrupted
      : results.units.some((u) => u.status === 'error') ? EXIT.unavailable
      : results.units.some((u) => u.status === 'failed') ? EXIT.checksFailed : EXIT.passed;
    const color = !process.env.NO_COLOR && !!process.stdout.isTTY;
    if (o.json) {
      process.stdout.write(JSON.stringify(results.units, null, 2) + '\n');
    } else {
      const c = createColors(color);
      const paint = { passed: c.green, failed: c.red, error: c.yellow } as const;
      process.stdout.write(`merged ${zips.length} blob report${zips.length === 1 ? '' : 's'}: ${results.units.length} unit${results.units.length === 1 ? '' : 's'}\n`);
      const w = Math.max(0, ...results.units.map((u) => u.unit.length));
      for (const u of results.units) {
        process.stdout.write(`  ${u.unit.padEnd(w)}  ${paint[u.status](u.status.padEnd(6))}  ${u.score}/${u.maxScore}  ${relative(process.cwd(), join(u.outDir, 'index.html'))}\n`);
      }
    }
    return await finishMatrix(results.units, exit, {
      outDir, baseline, allowKnown: o.allowKnown, color,
      print: (t) => (o.json ? process.stderr : process.stdout).write(t),
    });
  } finally {
    await rm(work, { recursive: true, force: true }).catch(() => {});
  }
}
