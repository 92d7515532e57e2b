// Runs in netlab-run: writes the files Playwright is started on.
import { writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Lab } from '../lab/schema.ts';
import { specFilesOf } from '../lab/spec-checks.ts';
import type { UnitSpec } from '../protocol/units.ts';
import type { UnitMeta } from './netlab-reporter.ts';
import { BOOT_BUDGET_ENV, runBootBudgetMs } from './boot-budget.ts';

const here = dirname(fileURLToPath(import.meta.url));
const SPEC_SUFFIX = '.spec.mjs';
/** Where the config stub (playwright.config.ts) finds the run's generated config. */
export const CONFIG_ENV = 'NETLAB_PLAYWRIGHT_CONFIG';

/** The config file to give `playwright test --config`, and the environment it needs. */
export interface PlaywrightFiles { config: string; env: Record<string, string> }

export interface GeneratedRun {
  workDir: string;
  outDir: string;
  units: { spec: UnitSpec; lab: Lab; meta: UnitMeta }[];
  workers: number;
  /** Extra Playwright reporters, e.g. ['junit']. */
  reporters: string[];
  /**
   * Where Playwright's own outputs go (HTML report, test-results, junit.xml, blob-report): they name
   * every check, hidden ones too, so they belong with the staff copies. Default: outDir.
   */
  staffDir?: string;
  /** Cold boots the VM engine runs at once (the rest wait their turn): what the boot budget counts in. Default 1. */
  coldBootsAtOnce?: number;
}

// There is no public API to run Playwright from code (microsoft/playwright#7275): write one spec file
// per unit plus a config, and spawn the CLI on them. A spec file per unit is how tests get declared
// from data: spec files cannot see their project while they are being collected.
//
// Playwright compiles every config and test file with babel unless its cache has the file (keyed by
// path and content), and loading babel alone costs ~110 ms, in the runner and again in each worker:
// the config Playwright loads is a fixed stub that reads the run's JSON (a cache hit from the second
// run on), and the generated spec files are plain ES modules that `build.external` exempts.
export async function writePlaywrightFiles(run: GeneratedRun): Promise<PlaywrightFiles> {
  const labTests = join(here, 'lab-tests.ts');
  for (const u of run.units) {
    // The lab's own check files, imported as modules: their functions run inside the check's test.
    const specs = specFilesOf(u.lab);
    const labDir = dirname(u.spec.labFile);
    await writeFile(join(run.workDir, `${u.spec.id}${SPEC_SUFFIX}`),
      `import { defineLabTests } from ${JSON.stringify(pathToFileURL(labTests).href)};\n`
      + specs.map((f, i) => `import * as spec${i} from ${JSON.stringify(pathToFileURL(join(labDir, f)).href)};\n`).join('')
      + `defineLabTests(${JSON.stringify(u.spec)}, ${JSON.stringify(u.lab)}, { ${specs.map((f, i) => `${JSON.stringify(f)}: spec${i}`).join(', ')} });\n`);
  }
  const staff = run.staffDir ?? run.outDir;
  const reporters: unknown[] = [
    [join(here, 'netlab-reporter.ts')],
    [join(here, 'progress-reporter.ts')],
    ['html', { open: 'never', outputFolder: join(staff, 'playwright-report') }],
    ...run.reporters.map((r) => (r === 'junit' ? ['junit', { outputFile: join(staff, 'junit.xml') }]
      : r === 'blob' ? ['blob', { outputDir: join(staff, 'blob-report') }] : [r])),
  ];
  const config = {
    testDir: run.workDir,
    outputDir: join(staff, 'test-results'),
    workers: run.workers,
    fullyParallel: false,
    retries: 0,
    forbidOnly: false,
    timeout: 120_000,
    reporter: reporters,
    // The whole folder: Playwright's runner also loads each spec as `<file>.esm.preflight`.
    build: { external: [join(run.workDir, '**')] },
    // One project for every unit: Playwright gives each project workers of its own, so a project
    // per unit started a fresh worker (~1.2 s of CPU) for every student of a class. Tests name their
    // unit in a `netlab-unit` annotation; the project's metadata holds each unit's report settings.
    projects: [{
      name: PROJECT,
      testMatch: `*${SPEC_SUFFIX}`,
      metadata: { netlab: { units: Object.fromEntries(run.units.map((u) => [u.spec.id, u.meta])) } },
    }],
  };
  const json = join(run.workDir, 'playwright.config.json');
  await writeFile(json, JSON.stringify(config, null, 2));
  const bootBudget = String(runBootBudgetMs(run.units, run.coldBootsAtOnce ?? 1));
  return { config: join(here, 'playwright.config.ts'), env: { [CONFIG_ENV]: json, [BOOT_BUDGET_ENV]: bootBudget, ...playwrightNodeEnv() } };
}

/**
 * The environment Playwright's processes need to load this package's TypeScript. Playwright compiles
 * TypeScript only outside node_modules: in an installed netlab-run (<course>/node_modules/netlab-run)
 * its config stub, reporters and lab-tests.ts, and the `netlab-run/lab` that a lab's checks import,
 * would not load. tsx's loader, registered before Playwright's, compiles what Playwright passes on.
 */
export function playwrightNodeEnv(): Record<string, string> {
  if (!here.split(sep).includes('node_modules')) return {};
  return { NODE_OPTIONS: [process.env.NODE_OPTIONS, `--import=${import.meta.resolve('tsx')}`].filter(Boolean).join(' ') };
}

/** The one Playwright project of a run. */
const PROJECT = 'netlab';

// The order Playwright's workers take the units in: it runs a project's files sorted by name
// (localeCompare), and each unit is one file.
export function playwrightOrder(ids: string[]): string[] {
  return [...ids].sort((a, b) => `${a}${SPEC_SUFFIX}`.localeCompare(`${b}${SPEC_SUFFIX}`));
}

export function playwrightCli(): string {
  return createRequire(import.meta.url).resolve('@playwright/test/cli');
}
