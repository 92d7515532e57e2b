import { readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { createColors } from 'picocolors';
import type { RunResult } from '../reports/model.ts';
import { formatTerminalSummary } from '../reports/terminal.ts';
import { InfraError } from '../vm/errors.ts';
import { withSbinPath } from '../vm/host-tools.ts';
import { stopAllVmSets } from '../vm/lab-vms.ts';
import { EXIT } from './exit-codes.ts';
import { UsageError } from './errors.ts';
import { LabError } from './lab.ts';
import { progressPrinter } from './progress.ts';
import { loadAll, runLabs, type RunOutcome } from './run.ts';
import { shellCommand } from './shell-command.ts';
import type { VmPool } from './vm-pool.ts';

const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
const color = createColors(!process.env.NO_COLOR && !!process.stderr.isTTY);

const EXAMPLES = `
Examples:
  netlab-run labs/bridge                          grade the lab's reference solution
  netlab-run labs/bridge --submission bridge.sh   grade a student's script
  netlab-run labs                                 every lab under labs/
  netlab-run labs/bridge --kernel debian:trixie --kernel debian:sid
  netlab-run labs/bridge --keep                   leave the VMs up to look around
  netlab-run shell labs/bridge host               a shell in a lab machine

Exit codes: 0 all checks passed, 1 some check failed, 2 usage or lab error,
69 infrastructure unavailable (QEMU, image, VM boot), 130 interrupted.
Docs: docs/lab-format.md`;

function collect(value: string, previous: string[]): string[] { return [...previous, value]; }

export function buildProgram(): Command {
  const program = new Command('netlab-run')
    .description('Boot a lab\'s Linux VMs, run a submission, grade its checks, write a graded HTML report.')
    .version(pkg.version, '-V, --version')
    .argument('[labs...]', 'lab folders, lab.yaml files, or folders of labs', [])
    .option('-k, --kernel <name>', 'kernel to run on (repeatable): debian:bullseye|bookworm|trixie|sid[:generic], local:<bzImage>:<modules>', collect, [])
    .option('-s, --submission <file>', 'the student\'s file to grade (default: the lab\'s reference solution)')
    .option('-o, --out <dir>', 'report folder', 'netlab-report')
    .option('--keep', 'leave the VMs running after the run (Ctrl-C stops them)', false)
    .addOption(new Option('--accel <accel>', 'force the accelerator (default: KVM when a probe proves it works)').choices(['kvm', 'tcg']))
    .option('--reporter <name>', 'extra Playwright reporter (repeatable): junit, blob, dot...', collect, [])
    .option('-j, --workers <n>', 'labs run at once', (v) => { const n = Number(v); if (!Number.isInteger(n) || n < 1) throw new UsageError(`--workers takes a whole number ≥ 1, got ${v}`); return n; })
    .option('--json', 'print the outcome as JSON on stdout', false)
    .option('--list', 'list the labs and their checks without running anything', false)
    .option('-v, --verbose', 'show boot consoles and build output', false)
    .addHelpText('after', EXAMPLES)
    .showSuggestionAfterError(true)
    .exitOverride()
    .action(async (labs: string[], o) => { process.exitCode = await runCommand(labs, o); });
  program.command('shell')
    .description('open a shell in a lab machine (of a run kept with --keep, or freshly booted)')
    .argument('<lab>', 'lab folder or lab.yaml')
    .argument('[machine]', 'machine name (default: the first)')
    .argument('[command...]', 'run this instead of an interactive shell')
    .addOption(new Option('--accel <accel>').choices(['kvm', 'tcg']))
    .exitOverride()
    .action(async (lab: string, machine: string | undefined, command: string[], o) => { process.exitCode = await shellCommand(lab, machine, command, o.accel); });
  return program;
}

interface CliOptions { kernel: string[]; submission?: string; out: string; keep: boolean; accel?: 'kvm' | 'tcg'; reporter: string[]; workers?: number; json: boolean; list: boolean; verbose: boolean }

async function runCommand(paths: string[], o: CliOptions): Promise<number> {
  if (o.list) return listLabs(paths, o.json);
  const ac = new AbortController();
  let pool: VmPool | undefined;
  let interrupts = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    interrupts++;
    if (interrupts > 1) process.exit(EXIT.interrupted);
    process.stderr.write(`\n${color.yellow(`netlab: ${sig}: stopping the run and its VMs…`)}\n`);
    ac.abort();
    void pool?.stopAll();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let outcome: RunOutcome;
  try {
    outcome = await runLabs({
      paths, kernels: o.kernel, submission: o.submission, outDir: o.out, keep: o.keep, accel: o.accel,
      reporters: o.reporter, workers: o.workers, onEvent: progressPrinter({ verbose: o.verbose, quiet: false }),
      signal: ac.signal, onPool: (p) => { pool = p; },
    });
  } finally {
    if (!o.keep || ac.signal.aborted) await stopAllVmSets();
  }
  await printOutcome(outcome, o.json);
  if (o.keep && !ac.signal.aborted && outcome.pool) await holdKept(outcome.pool, ac.signal);
  return outcome.exitCode;
}

async function printOutcome(outcome: RunOutcome, json: boolean): Promise<void> {
  if (json) { process.stdout.write(JSON.stringify(outcome.units, null, 2) + '\n'); return; }
  for (const u of outcome.units) {
    try {
      const result = JSON.parse(await readFile(join(u.outDir, 'result.json'), 'utf8')) as RunResult;
      process.stdout.write('\n' + formatTerminalSummary(result, { color: !process.env.NO_COLOR && !!process.stdout.isTTY }) + '\n');
    } catch { /* the reporter wrote nothing: the error below says why */ }
    if (u.error) process.stderr.write(color.red(`${u.unit}: ${u.error}\n`));
    process.stdout.write(`report: ${relative(process.cwd(), join(u.outDir, 'index.html'))}\n`);
  }
  if (outcome.interrupted) process.stderr.write(color.yellow('interrupted: the reports hold what finished\n'));
}

async function holdKept(pool: VmPool, signal: AbortSignal): Promise<void> {
  const sets = await pool.running();
  process.stderr.write(`\n${color.bold('VMs kept running.')} Reach them with:\n`);
  for (const s of sets) {
    for (const ep of s.endpoints()) {
      process.stderr.write(`  ssh -i ${ep.privateKeyPath} -p ${ep.port} -o StrictHostKeyChecking=no root@127.0.0.1   # ${ep.name}\n`);
    }
  }
  process.stderr.write(`  or: netlab-run shell <lab> <machine>\nPress Ctrl-C to stop them.\n`);
  await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
  await pool.stopAll();
}

async function listLabs(paths: string[], json: boolean): Promise<number> {
  const labs = await loadAll(paths);
  if (json) {
    process.stdout.write(JSON.stringify(labs.map(({ lab, dir }) => ({ name: lab.name, title: lab.title, dir, checks: lab.checks.map((c) => ({ id: c.id, name: c.name, points: c.points, visibility: c.visibility })) })), null, 2) + '\n');
    return EXIT.passed;
  }
  for (const { lab, dir } of labs) {
    const total = lab.checks.reduce((t, c) => t + c.points, 0);
    process.stdout.write(`${lab.name}  ${lab.title}  (${relative(process.cwd(), dir) || '.'}, ${total} points)\n`);
    for (const c of lab.checks) process.stdout.write(`  ${String(c.points).padStart(3)}  ${c.name}${c.visibility !== 'visible' ? ` [${c.visibility}]` : ''}\n`);
  }
  return EXIT.passed;
}

// One clear line (or two, with the fix) and a distinct exit code; never a stack trace.
export function reportError(err: unknown): number {
  const say = (msg: string, fix?: string) => {
    process.stderr.write(`${color.red('error:')} ${msg}\n${fix ? `  ${color.dim('fix:')} ${fix.replace(/\n/g, '\n  ')}\n` : ''}`);
  };
  if (err instanceof CommanderError) {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return EXIT.passed;
    return EXIT.usage; // commander already printed its message
  }
  if (err instanceof LabError) { process.stderr.write(`${color.red('error:')} ${err.message}\n`); return EXIT.usage; }
  if (err instanceof UsageError) { say(err.message, err.fix); return EXIT.usage; }
  if (err instanceof InfraError) { say(err.message, err.fix); return EXIT.unavailable; }
  if (err instanceof Error && err.name === 'KernelSpecError') { say(err.message); return EXIT.usage; }
  const e = err as Error;
  say(`internal error: ${e?.message ?? String(err)}`, process.env.NETLAB_DEBUG ? e?.stack : 'set NETLAB_DEBUG=1 for details, and report it');
  return 70;
}

export async function main(argv: string[]): Promise<void> {
  withSbinPath();
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    process.exitCode = reportError(err);
  }
}
