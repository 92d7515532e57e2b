// The files netlab-run gives `playwright test`: a fixed config stub that reads the run's JSON, and one
// plain-JS spec file per unit that Playwright loads without compiling it (babel costs ~110 ms to load,
// in the runner and in every worker). Checked with Playwright itself (`--list`, as --shard asks it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadLab } from '../../runner/lab/load.ts';
import { CONFIG_ENV, playwrightOrder, writePlaywrightFiles } from '../../runner/playwright/config.ts';
import { unitsOfShard } from '../../runner/orchestrate/shard.ts';
import { topologyOf } from '../../runner/lab/topology.ts';
import { BOOT_BUDGET_ENV, BOOT_BUDGET_MS, runBootBudgetMs } from '../../runner/playwright/boot-budget.ts';

test('Playwright lists the units from the stub config and compiles neither the config nor the generated specs anew', async (t) => {
  const loaded = await loadLab('labs/bridge');
  const workDir = await mkdtemp(join(tmpdir(), 'netlab-pwconfig-'));
  t.after(() => rm(workDir, { recursive: true, force: true }));
  const units = ['bridge', 'bridge-2'].map((id) => {
    const spec = { id, labFile: loaded.file, kernel: 'debian:bookworm', submission: null };
    return {
      spec, lab: loaded.lab,
      meta: {
        unitId: id, outDir: join(workDir, 'out', id), lab: { name: loaded.lab.name, title: loaded.lab.title, dir: 'labs/bridge' },
        kernelName: spec.kernel, submission: null, topology: topologyOf(loaded.lab), checkOrder: loaded.lab.checks.map((c) => c.id),
      },
    };
  });
  const files = await writePlaywrightFiles({ workDir, outDir: join(workDir, 'out'), units, workers: 1, reporters: [] });

  assert.equal(files.config, resolve('runner/playwright/playwright.config.ts'), 'the config is the same file in every run');
  const config = JSON.parse(await readFile(files.env[CONFIG_ENV]!, 'utf8'));
  // One project: a worker moves from one unit to the next instead of a new worker per unit.
  assert.equal(config.projects.length, 1);
  assert.deepEqual(Object.keys(config.projects[0].metadata.netlab.units), ['bridge', 'bridge-2']);
  const spec = await readFile(join(workDir, 'bridge.spec.mjs'), 'utf8');
  assert.match(spec, /^import \{ defineLabTests \} from "file:\/\/\/.*\/runner\/playwright\/lab-tests\.ts";$/m);

  // A cache of its own shows what Playwright compiled: the stub and lab-tests.ts, never the run's files.
  const cache = await mkdtemp(join(tmpdir(), 'netlab-pwcache-'));
  t.after(() => rm(cache, { recursive: true, force: true }));
  process.env.PLAYWRIGHT_TRANSFORM_CACHE_DIR = cache;
  try {
    // Playwright takes the files in name order, as playwrightOrder says.
    assert.deepEqual(await unitsOfShard(files, '1/1'), playwrightOrder(['bridge', 'bridge-2']));
    assert.deepEqual(playwrightOrder(['bridge', 'bridge-2']), ['bridge-2', 'bridge']);
  } finally {
    delete process.env.PLAYWRIGHT_TRANSFORM_CACHE_DIR;
  }
  const compiled = (await readdir(cache, { recursive: true })).filter((f) => f.endsWith('.js')).map((f) => f.replace(/^.*_/, ''));
  assert.ok(compiled.includes('playwrightconfig.js') && compiled.includes('labtests.js'), compiled.join(' '));
  assert.ok(!compiled.some((f) => /^bridge/.test(f)), `generated specs were compiled: ${compiled.join(' ')}`);
});

test('the boot budget of a run grows with the machine shapes that may boot cold, one turn at a time', async (t) => {
  const bridge = (await loadLab('labs/bridge')).lab;
  const overlay = (await loadLab('labs/overlay')).lab;
  const unit = (lab: typeof bridge, kernel: string, id = lab.name) => ({ spec: { id, labFile: '', kernel, submission: null }, lab });
  // A class: one shape however many students.
  const class24 = Array.from({ length: 24 }, (_, i) => unit(bridge, 'debian:bookworm', `s${i}`));
  assert.equal(runBootBudgetMs(class24, 1), BOOT_BUDGET_MS + 120_000);
  // A matrix: each kernel is a shape of its own; the overlay's two like machines are one.
  const matrix = ['debian:bullseye', 'debian:sid'].flatMap((k) => [unit(bridge, k), unit(overlay, k)]);
  assert.equal(runBootBudgetMs(matrix, 1), BOOT_BUDGET_MS + 4 * 120_000);
  assert.equal(runBootBudgetMs(matrix, 2), BOOT_BUDGET_MS + 2 * 120_000);
  // A machine with boot steps may take them to their limits too (docker-modes: two steps of 120 s).
  const docker = (await loadLab('labs/docker-modes')).lab;
  assert.equal(runBootBudgetMs([unit(docker, 'debian:bookworm')], 1), BOOT_BUDGET_MS + 120_000 + 2 * 120_000);
  const workDir = await mkdtemp(join(tmpdir(), 'netlab-pwconfig-'));
  t.after(() => rm(workDir, { recursive: true, force: true }));
  const files = await writePlaywrightFiles({ workDir, outDir: join(workDir, 'out'), units: [], workers: 1, reporters: [] });
  assert.ok(Number(files.env[BOOT_BUDGET_ENV]) >= BOOT_BUDGET_MS, 'Playwright\'s workers are told the budget');
});
