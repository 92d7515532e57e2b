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
const timings: { file: string; seconds: number; bad: number }[] = [];
// Failed tests' TAP diagnostics, repeated at the end: CI keeps only the tail of a long log.
const failures: string[] = [];
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
  // Unit files run together, two at a time; VM files one by one (they share the machine's 2 cores and
  // their boots must stay inside their timeouts), each timed so a slow suite shows where time went.
  const batches = tier === 'unit' ? [files] : files.map((f) => [f]);
  for (const batch of batches) {
    const started = Date.now();
    const tap = join(tapDir, `${tier}.tap`);
    const r = await execa('node', ['--import', 'tsx', '--test', `--test-concurrency=${tier === 'unit' ? 2 : 1}`,
      '--test-reporter=spec', '--test-reporter-destination=stdout', '--test-reporter=tap', `--test-reporter-destination=${tap}`, ...batch], {
      stdio: 'inherit', reject: false, env: { TMPDIR: tapDir },
    });
    if (r.exitCode !== 0) exitFailed = true;
    const text = readFileSync(tap, 'utf8');
    passed += Number(/^# pass (\d+)$/m.exec(text)?.[1] ?? 0);
    const bad = Number(/^# fail (\d+)$/m.exec(text)?.[1] ?? 0) + Number(/^# cancelled (\d+)$/m.exec(text)?.[1] ?? 0);
    failed += bad;
    if (bad) failures.push(...failureDiagnostics(text));
    if (tier !== 'unit') timings.push({ file: batch[0]!, seconds: (Date.now() - started) / 1000, bad });
  }
}
if (timings.length > 1) {
  console.log('\n== time per VM test file ==');
  for (const t of [...timings].sort((a, b) => b.seconds - a.seconds)) {
    console.log(`${t.seconds.toFixed(0).padStart(6)} s  ${t.file}${t.bad ? `  (${t.bad} failed)` : ''}`);
  }
  console.log(`${timings.reduce((n, t) => n + t.seconds, 0).toFixed(0).padStart(6)} s  in all`);
}
rmSync(tapDir, { recursive: true, force: true });
if (failures.length) console.log(`\n== failures ==\n${failures.join('\n\n')}`);
console.log(`\n${passed} passed, ${failed} failed`);
process.exitCode = exitFailed || failed > 0 ? 1 : 0;

// Each "not ok" test of a TAP file with its YAML block (error, location), long outputs cut in the middle.
function failureDiagnostics(tap: string): string[] {
  const out: string[] = [];
  const lines = tap.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const head = /^\s*not ok \d+ - (.*)$/.exec(lines[i]!);
    if (!head || lines[i + 1]?.trim() !== '---') continue;
    const block: string[] = [];
    // The stack is node's own frames mostly; the location line already names the test's.
    for (let j = i + 2; j < lines.length && lines[j]!.trim() !== '...' && !/^\s*stack: /.test(lines[j]!); j++) block.push(lines[j]!);
    const shown = block.length > 60 ? [...block.slice(0, 40), `  … ${block.length - 55} lines …`, ...block.slice(-15)] : block;
    out.push([`✖ ${head[1]}`, ...shown].join('\n'));
  }
  return out;
}
