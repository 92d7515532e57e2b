// Runs the project's own tests with node's test runner: `tsx test/run.ts [unit|e2e|slow] [file filter]`.
// Tiers run in order (unit first, so a broken build fails in seconds); e2e boots real VMs.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';

const tiers = ['unit', 'e2e', 'slow'] as const;
const [tierArg, filter] = process.argv.slice(2);
const selected = tierArg && (tiers as readonly string[]).includes(tierArg) ? [tierArg] : [...tiers];

let failed = false;
for (const tier of selected) {
  const dir = join('test', tier);
  let files: string[] = [];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.test.ts')).sort().map((f) => join(dir, f));
  } catch { continue; }
  if (filter) files = files.filter((f) => f.includes(filter));
  if (files.length === 0) continue;
  console.log(`\n== ${tier} tests (${files.length} files) ==`);
  // VM tests share the machine's 2 cores: one file at a time keeps boots inside their timeouts.
  const concurrency = tier === 'unit' ? '2' : '1';
  const r = await execa('node', ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files], {
    stdio: 'inherit', reject: false,
  });
  if (r.exitCode !== 0) failed = true;
}
process.exitCode = failed ? 1 : 0;
