// Runs the project's own tests with node's test runner: `tsx test/run.ts [unit|e2e|slow] [file filter]`.
// Tiers run in order (the typecheck and unit first, so a broken build fails in seconds); e2e and slow
// boot real VMs.
// Ends with one plain "N passed, N failed" line over all tiers.
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';

const tiers = ['unit', 'e2e', 'slow'] as const;
const [tierArg, filter] = process.argv.slice(2);
const selected = tierArg && (tiers as readonly string[]).includes(tierArg) ? [tierArg] : [...tiers];
// Every temporary folder the tests make (reports, class folders, a Vagrant home with its box copy,
// VM run folders) lands in this one, removed at the end: nothing is left in /tmp, however a test
// cleans up. 0755: libvirt's QEMU runs as its own user and must reach the run folders inside.
const tapDir = mkdtempSync(join(tmpdir(), 'netlab-tests-'));
chmodSync(tapDir, 0o755);

let passed = 0;
let failed = 0;
let exitFailed = false;
// The typecheck is part of the unit tier: tsx strips types without checking them, so nothing else
// would notice a type error.
if (selected.includes('unit') && !filter) {
  console.log('\n== typecheck (tsc --noEmit) ==');
  const tsc = await execa('npx', ['--no-install', 'tsc', '--noEmit'], { stdio: 'inherit', reject: false });
  console.log(tsc.exitCode === 0 ? 'typecheck: ok' : `typecheck: failed (exit ${tsc.exitCode})`);
  if (tsc.exitCode === 0) passed++; else { failed++; exitFailed = true; }
}
for (const tier of selected) {
  const dir = join('test', tier);
  let files: string[] = [];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.test.ts')).sort().map((f) => join(dir, f));
  } catch { continue; }
  if (filter) files = files.filter((f) => f.includes(filter));
  if (files.length === 0) continue;
  console.log(`\n== ${tier} tests (${files.length} files) ==`);
  const tap = join(tapDir, `${tier}.tap`);
  // VM tests share the machine's 2 cores: one file at a time keeps boots inside their timeouts.
  const concurrency = tier === 'unit' ? '2' : '1';
  const r = await execa('node', ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`,
    '--test-reporter=spec', '--test-reporter-destination=stdout', '--test-reporter=tap', `--test-reporter-destination=${tap}`, ...files], {
    stdio: 'inherit', reject: false, env: { TMPDIR: tapDir },
  });
  if (r.exitCode !== 0) exitFailed = true;
  const text = readFileSync(tap, 'utf8');
  passed += Number(/^# pass (\d+)$/m.exec(text)?.[1] ?? 0);
  failed += Number(/^# fail (\d+)$/m.exec(text)?.[1] ?? 0) + Number(/^# cancelled (\d+)$/m.exec(text)?.[1] ?? 0);
}
rmSync(tapDir, { recursive: true, force: true });
console.log(`\n${passed} passed, ${failed} failed`);
process.exitCode = exitFailed || failed > 0 ? 1 : 0;
