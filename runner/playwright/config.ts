import { writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Lab } from '../schema.ts';
import { specFilesOf } from '../spec-checks.ts';
import type { UnitSpec } from '../units.ts';
import type { UnitMeta } from './netlab-reporter.ts';

const here = dirname(fileURLToPath(import.meta.url));

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
  shard?: string;
}

// There is no public API to run Playwright from code (microsoft/playwright#7275): write one spec file
// per unit plus a config, and spawn the CLI on them. A spec file per unit is how tests get declared
// from data: spec files cannot see their project while they are being collected.
export async function writePlaywrightFiles(run: GeneratedRun): Promise<string> {
  const labTests = join(here, 'lab-tests.ts');
  for (const u of run.units) {
    // The lab's own check files, imported as modules: their functions run inside the check's test.
    const specs = specFilesOf(u.lab);
    const labDir = dirname(u.spec.labFile);
    await writeFile(join(run.workDir, `${u.spec.id}.spec.ts`),
      `import { defineLabTests } from ${JSON.stringify(labTests)};\n`
      + specs.map((f, i) => `import * as spec${i} from ${JSON.stringify(join(labDir, f))};\n`).join('')
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
    projects: run.units.map((u) => ({
      name: u.spec.id,
      testMatch: `${u.spec.id}.spec.ts`,
      metadata: { netlab: u.meta },
    })),
  };
  const file = join(run.workDir, 'playwright.config.mjs');
  await writeFile(file, `export default ${JSON.stringify(config, null, 2)};\n`);
  return file;
}

export function playwrightCli(): string {
  return createRequire(import.meta.url).resolve('@playwright/test/cli');
}
