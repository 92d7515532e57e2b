import { readFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { createColors } from 'picocolors';
import type { CheckResult, RunResult } from '../../reports/model.ts';
import { formatTerminalSummary } from '../../reports/terminal.ts';
import { terminalSafe } from '../../reports/terminal-safe.ts';
import { InfraError } from '../../vm/errors.ts';
import { withSbinPath } from '../../vm/build/host-tools.ts';
import { stopAllMachineSets } from '../../vm/machine-set.ts';
import { boxCommand, type BoxOptions } from './box-command.ts';
import { EXIT } from '../exit-codes.ts';
import { totals } from '../lab/grade.ts';
import { UsageError } from '../errors.ts';
import { LabError } from '../lab/load.ts';
import { progressPrinter } from '../orchestrate/progress.ts';
import { loadAll, runLabs, type RunOutcome } from '../orchestrate/run.ts';
import { applyConfig, loadConfigFile } from './config-file.ts';
import { finishMatrix, loadBaseline } from '../orchestrate/matrix-run.ts';
import { mergeCommand } from '../orchestrate/merge.ts';
import { parseShard } from '../orchestrate/shard.ts';
import { shellCommand } from './shell-command.ts';
import { stopOnSignals } from '../orchestrate/interrupts.ts';
import { verifyCommand, type VerifyOptions } from '../orchestrate/verify.ts';
import { initCommand } from './init-command.ts';
import type { VmPool } from '../orchestrate/vm-pool.ts';

const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
const color = createColors(!process.env.NO_COLOR && !!process.stderr.isTTY);

const EXAMPLES = `
Examples:
  netlab-run labs/bridge                          grade the lab's reference solution
  netlab-run labs/bridge --submission bridge.sh   grade a student's script
  netlab-run labs/bridge --submissions class/ --out grades
                                                  grade a whole class: gradebook.csv, index.html
  netlab-run labs/bridge --submission bridge.sh --format gradescope
                                                  also write Gradescope's results.json
  netlab-run labs                                 every lab under labs/
  netlab-run labs/bridge --kernel debian:trixie --kernel debian:sid
  netlab-run labs -k debian:bullseye -k debian:bookworm --baseline last/matrix.json
                                                  kernel matrix (matrix.html), regressions vs last night
  netlab-run labs -k debian:bookworm -k debian:sid --shard 1/2 --out shard1
  netlab-run merge shard1 shard2 --out nightly    one report and matrix from the shards
  netlab-run verify labs/bridge                   grade the reference and the lab's examples: each gets its declared score?
  netlab-run init my-course                       a course repository using netlab-run: a sample lab, CI, Gradescope
  netlab-run labs/bridge --keep                   leave the VMs up to look around
  netlab-run shell labs/bridge host               a shell in a lab machine
  netlab-run labs/bridge --backend vagrant        the same lab on Vagrant (vagrant-libvirt) machines
  netlab-run image box                            the image as a Vagrant box for your own Vagrantfile

Exit codes: 0 all checks passed, 1 some check failed, 2 usage or lab error,
69 infrastructure unavailable (QEMU, image, VM boot, Playwright not starting), 70 internal error
(a bug in netlab-run: NETLAB_DEBUG=1 shows the stack), 130 interrupted.
With --submissions: 0 every submission was graded, 69 some could not be.
With --baseline: 1 when a cell or check regressed or a new failure appeared; failures the baseline
had too exit 1, or 0 with --allow-known. Defaults come from netlab.config.yaml (kernels:, labs:, ...).
Docs: docs/lab-format.md, docs/grading.md, docs/gradescope.md, docs/courses.md, docs/nightly.md, docs/vagrant.md`;

const FORMATS = ['gradescope', 'prairielearn', 'junit'];

// "64K", "1M", "4096" → bytes (powers of 1024).
export function parseSize(v: string): number {
  const m = /^(\d+)\s*([kmg]?)(i?b)?$/i.exec(v.trim());
  if (!m || Number(m[1]) < 1) throw new UsageError(`--max-output takes a size such as 64K, 1M or a number of bytes, got ${v}`);
  return Number(m[1]) * 1024 ** ['', 'k', 'm', 'g'].indexOf(m[2]!.toLowerCase());
}

function collect(value: string, previous: string[]): string[] { return [...previous, value]; }

export function buildProgram(): Command {
  const program = mainCommand();
  mergeSubcommand(program);
  verifySubcommand(program);
  initSubcommand(program);
  shellSubcommand(program);
  imageSubcommand(program);
  return program;
}

// The run itself: `netlab-run [labs...]` and its options.
function mainCommand(): Command {
  return new Command('netlab-run')
    .description('Boot a lab\'s Linux VMs, run a submission, grade its checks, write a graded HTML report.')
    .version(pkg.version, '-V, --version')
    .argument('[labs...]', 'lab folders, lab.yaml files, or folders of labs', [])
    .option('-k, --kernel <name>', 'kernel to run on (repeatable): debian:bullseye|bookworm|trixie|sid[:generic], local:<bzImage>:<modules>', collect, [])
    .option('-s, --submission <file>', 'the student\'s file to grade (default: the lab\'s reference solution)')
    .option('--submissions <dir>', 'grade a class: one file (alice.sh) or folder (bob/<file>) per student, each in fresh VMs; writes gradebook.csv and a staff index.html')
    .option('--resume', 'with --submissions: keep the grades of students whose file and lab.yaml did not change', false)
    .option('--format <name>', `extra output (repeatable): ${FORMATS.join(', ')} (Gradescope results.json; PrairieLearn prairielearn/results.json; junit.xml)`, (v: string, prev: string[]) => {
      if (!FORMATS.includes(v)) throw new UsageError(`--format takes ${FORMATS.join(' or ')}, got ${v}`);
      return [...prev, v];
    }, [])
    .option('--max-output <size>', 'output kept per stream of each command, e.g. 64K, 1M (default 256K)', parseSize)
    .option('-o, --out <dir>', 'report folder', 'netlab-report')
    .option('--keep', 'leave the VMs running after the run (Ctrl-C stops them)', false)
    .addOption(new Option('--accel <accel>', 'force the accelerator (default: KVM when a probe proves it works)').choices(['kvm', 'tcg']))
    .addOption(new Option('--backend <name>', 'who starts the machines: qemu (default; snapshots) or vagrant (vagrant-libvirt; see docs/vagrant.md)').choices(['qemu', 'vagrant']).default('qemu'))
    .option('--reporter <name>', 'extra Playwright reporter (repeatable): junit, blob, dot...', collect, [])
    .option('-j, --workers <n>', 'units (lab × kernel × submission) at once; default three vCPUs per core under TCG (fewer units when a lab has several machines or vCPUs), one with KVM', (v) => { const n = Number(v); if (!Number.isInteger(n) || n < 1) throw new UsageError(`--workers takes a whole number ≥ 1, got ${v}`); return n; })
    .option('--baseline <file>', 'compare with an earlier run\'s matrix.json (or a summary.json): mark regressions and fixes, exit 1 on a regression')
    .option('--allow-known', 'with --baseline: exit 0 when every failure failed in the baseline too', false)
    .option('--refresh-kernels', 'fetch the newest version of each Debian kernel from the mirror, not the cached one (NETLAB_REFRESH_KERNELS=1)', false)
    .option('--shard <i/n>', 'run shard i of n of the units (Playwright sharding) and write a blob report for `netlab-run merge`', (v: string) => { parseShard(v); return v; })
    .option('--json', 'print the outcome as JSON on stdout', false)
    .option('--list', 'list the labs and their checks without running anything', false)
    .option('-v, --verbose', 'show boot consoles and build output', false)
    .addHelpText('after', EXAMPLES)
    .showSuggestionAfterError(true)
    .enablePositionalOptions() // `merge --out X`, `shell --accel X`: the subcommand's own options
    .exitOverride()
    .action(async (labs: string[], o: CliOptions, cmd: Command) => {
      // netlab.config.yaml fills in what the command line left out.
      const c = applyConfig({ ...o, paths: labs }, await loadConfigFile(), cmd.getOptionValueSource('out') !== 'default');
      process.exitCode = await runCommand(c.paths, c);
    });
}

function mergeSubcommand(program: Command): void {
  program.command('merge')
    .description('merge the blob reports of sharded runs (--shard i/n) into one report folder and kernel matrix')
    .argument('<dirs...>', 'the shards\' --out folders (or their blob-report folders, or report-*.zip files)')
    .option('-o, --out <dir>', 'report folder', 'netlab-report')
    .option('--baseline <file>', 'compare with an earlier run\'s matrix.json (or a summary.json)')
    .option('--allow-known', 'with --baseline: exit 0 when every failure failed in the baseline too', false)
    .option('--json', 'print the units as JSON on stdout', false)
    .option('-v, --verbose', 'show the output of playwright merge-reports', false)
    .exitOverride()
    .action(async (dirs: string[], o) => { process.exitCode = await mergeCommand(dirs, o); });
}

function verifySubcommand(program: Command): void {
  program.command('verify')
    .description('grade each lab\'s reference and the example submissions its lab.yaml lists (examples:), and check each gets the declared score')
    .argument('[labs...]', 'lab folders, lab.yaml files, or folders of labs', [])
    .option('-o, --out <dir>', 'reports folder: <lab>/<example>/ per example, with gradebook.csv and a staff index.html per lab', 'netlab-verify')
    .option('-k, --kernel <name>', 'kernel to grade on (default: each lab\'s kernel)')
    .option('-j, --workers <n>', 'units at once (default: as for a class)', (v) => { const n = Number(v); if (!Number.isInteger(n) || n < 1) throw new UsageError(`--workers takes a whole number ≥ 1, got ${v}`); return n; })
    .addOption(new Option('--accel <accel>').choices(['kvm', 'tcg']))
    .option('--json', 'print the verdicts as JSON on stdout', false)
    .option('-v, --verbose', 'show boot consoles and build output', false)
    .addHelpText('after', '\nExit codes: 0 every example got its declared grade (the reference full marks), 1 the lab\'s checks do not grade\nits examples as declared, 2 usage or lab error, 69 an example could not be graded (infrastructure).')
    .exitOverride()
    .action(async (labs: string[], o: VerifyOptions) => { process.exitCode = await verifyCommand(labs, o); });
}

function initSubcommand(program: Command): void {
  program.command('init')
    .description('write a course repository that has netlab-run as a dependency: package.json, a sample lab, a CI workflow, Gradescope files')
    .argument('[dir]', 'a new or empty folder (default: the current one)')
    .exitOverride()
    .action(async (dir: string | undefined) => { process.exitCode = await initCommand(dir); });
}

function shellSubcommand(program: Command): void {
  program.command('shell')
    .description('open a shell in a lab machine (of a run kept with --keep, or freshly booted)')
    .argument('<lab>', 'lab folder or lab.yaml')
    .argument('[machine]', 'machine name (default: the first)')
    .argument('[command...]', 'run this instead of an interactive shell')
    .addOption(new Option('--accel <accel>').choices(['kvm', 'tcg']))
    .exitOverride()
    .action(async (lab: string, machine: string | undefined, command: string[], o) => { process.exitCode = await shellCommand(lab, machine, command, o.accel); });
}

function imageSubcommand(program: Command): void {
  program.command('image')
    .description('the VM image netlab-run builds (from Debian packages, cached)')
    .command('box')
    .description('pack the image and a kernel as a Vagrant box (libvirt provider, direct kernel boot) and `vagrant box add` it')
    .option('--provider <name>', 'box provider (libvirt; VirtualBox: see docs/vagrant.md)', 'libvirt')
    .option('-k, --kernel <name>', 'kernel the box boots', 'debian:bookworm')
    .option('-o, --out <file>', 'also write the .box file here')
    .option('--no-add', 'only pack the box, do not `vagrant box add` it')
    .exitOverride()
    .action(async (o: BoxOptions) => { process.exitCode = await boxCommand(o); });
}

interface CliOptions { kernel: string[]; submission?: string; submissions?: string; resume: boolean; format: string[]; maxOutput?: number; out: string; keep: boolean; accel?: 'kvm' | 'tcg'; backend: 'qemu' | 'vagrant'; reporter: string[]; workers?: number; json: boolean; list: boolean; verbose: boolean; baseline?: string; allowKnown: boolean; shard?: string; refreshKernels: boolean }

async function runCommand(paths: string[], o: CliOptions): Promise<number> {
  if (o.list) return listLabs(paths, o.json);
  if (o.allowKnown && !o.baseline) throw new UsageError('--allow-known needs --baseline', 'give the matrix.json of an earlier run with --baseline');
  if (o.baseline && o.submissions) throw new UsageError('--baseline compares kernel matrices; --submissions grades a class', 'drop one of them');
  const baseline = o.baseline ? await loadBaseline(o.baseline) : undefined;
  const stop = stopOnSignals('the run', color.yellow);
  let outcome: RunOutcome;
  try {
    outcome = await runLabs({
      paths, kernels: o.kernel, submission: o.submission, outDir: o.out, keep: o.keep, accel: o.accel, backend: o.backend,
      submissions: o.submissions, resume: o.resume, formats: o.format, maxOutput: o.maxOutput,
      reporters: o.reporter, workers: o.workers, onEvent: progressPrinter({ verbose: o.verbose }),
      signal: stop.signal, onPool: stop.onPool, shard: o.shard,
      refreshKernels: o.refreshKernels || undefined,
    });
  } finally {
    if (!o.keep || stop.signal.aborted) await stopAllMachineSets();
  }
  await printOutcome(outcome, o.json);
  // Several units (or a baseline): the kernel matrix, and the baseline's verdict (runner/orchestrate/matrix-run.ts).
  const exitCode = outcome.class ? outcome.exitCode : await finishMatrix(outcome.units, outcome.exitCode, {
    outDir: resolve(o.out), baseline, allowKnown: o.allowKnown, color: !process.env.NO_COLOR && !!process.stdout.isTTY,
    print: (t) => (o.json ? process.stderr : process.stdout).write(t),
  });
  if (o.keep && !stop.signal.aborted && outcome.pool) await holdKept(outcome.pool, stop.signal);
  return exitCode;
}

async function printOutcome(outcome: RunOutcome, json: boolean): Promise<void> {
  if (outcome.class) { printClass(outcome, json); return; }
  if (json) { process.stdout.write(JSON.stringify(outcome.units, null, 2) + '\n'); return; }
  for (const u of outcome.units) {
    try {
      const result = JSON.parse(await readFile(join(u.outDir, 'result.json'), 'utf8')) as RunResult;
      process.stdout.write('\n' + formatTerminalSummary(result, { color: !process.env.NO_COLOR && !!process.stdout.isTTY }) + '\n');
    } catch { /* the reporter wrote nothing: the error below says why */ }
    if (u.error) process.stderr.write(color.red(`${u.unit}: ${terminalSafe(u.error)}\n`));
    process.stdout.write(`report: ${relative(process.cwd(), join(u.outDir, 'index.html'))}\n`);
  }
  if (outcome.interrupted) process.stderr.write(color.yellow('interrupted: the reports hold what finished\n'));
}

// A class: one line per student, then where the gradebook and the staff index are.
function printClass(outcome: RunOutcome, json: boolean): void {
  const k = outcome.class!;
  if (json) { process.stdout.write(JSON.stringify(k.rows, null, 2) + '\n'); return; }
  const c = createColors(!process.env.NO_COLOR && !!process.stdout.isTTY);
  const paint = { graded: c.green, failed: c.yellow, missing: c.yellow, timeout: c.red, crashed: c.red, tampered: c.red, error: c.red } as const;
  const rows = k.rows.map((r) => ({ ...r, student: terminalSafe(r.student), detail: r.detail && terminalSafe(r.detail) }));
  const w = Math.max(...rows.map((r) => r.student.length));
  process.stdout.write('\n');
  // A row's detail is the last line the submission wrote to stderr: guest text.
  for (const r of rows) {
    const score = r.score === null ? '–' : `${Math.round(r.score * 100) / 100}/${Math.round((r.maxScore ?? 0) * 100) / 100}`;
    process.stdout.write(`  ${r.student.padEnd(w)}  ${score.padStart(7)}  ${paint[r.status](r.status)}${r.detail ? c.dim(`  ${r.detail.split('\n')[0]}`) : ''}\n`);
  }
  process.stdout.write(`gradebook: ${relative(process.cwd(), k.gradebook)}\nstaff index: ${relative(process.cwd(), k.index)}\n`);
  if (outcome.interrupted) process.stderr.write(color.yellow('interrupted: the gradebook holds what finished\n'));
}

async function holdKept(pool: VmPool, signal: AbortSignal): Promise<void> {
  const sets = await pool.running();
  process.stderr.write(`\n${color.bold('VMs kept running.')} Reach them with:\n`);
  for (const s of sets) {
    for (const ep of s.endpoints()) {
      process.stderr.write(`  ssh -i ${ep.privateKeyPath} -p ${ep.port} -o StrictHostKeyChecking=no root@${ep.host}   # ${ep.name}\n`);
    }
  }
  process.stderr.write(`  or: netlab-run shell <lab> <machine>\nPress Ctrl-C to stop them.\n`);
  await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
  await pool.stopAll();
}

async function listLabs(paths: string[], json: boolean): Promise<number> {
  const labs = await loadAll(paths);
  if (json) {
    process.stdout.write(JSON.stringify(labs.map(({ lab, dir }) => ({
      name: lab.name, title: lab.title, dir, submissionFile: lab.submission?.file ?? null,
      checks: lab.checks.map((c) => ({ id: c.id, name: c.name, points: c.points, visibility: c.visibility, ...(c.group ? { group: c.group } : {}) })),
    })), null, 2) + '\n');
    return EXIT.passed;
  }
  for (const { lab, dir } of labs) {
    const total = totals(lab.checks.map((c) => ({ status: 'failed', points: 0, maxPoints: c.points, group: c.group }) as CheckResult), lab.groups).maxScore;
    process.stdout.write(`${lab.name}  ${lab.title}  (${relative(process.cwd(), dir) || '.'}, ${total} points)\n`);
    for (const c of lab.checks) process.stdout.write(`  ${String(c.points).padStart(3)}  ${c.name}${c.visibility !== 'visible' ? ` [${c.visibility}]` : ''}${c.group ? ` (group ${c.group}, max ${lab.groups[c.group]?.max})` : ''}\n`);
  }
  return EXIT.passed;
}

// One clear line (or two, with the fix) and a distinct exit code; never a stack trace.
export function reportError(err: unknown): number {
  const say = (msg: string, fix?: string) => {
    // Messages may quote guest text (console lines, a command's output).
    process.stderr.write(`${color.red('error:')} ${terminalSafe(msg)}\n${fix ? `  ${color.dim('fix:')} ${terminalSafe(fix).replace(/\n/g, '\n  ')}\n` : ''}`);
  };
  if (err instanceof CommanderError) {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return EXIT.passed;
    return EXIT.usage; // commander already printed its message
  }
  if (err instanceof LabError) { process.stderr.write(`${color.red('error:')} ${terminalSafe(err.message)}\n`); return EXIT.usage; }
  if (err instanceof UsageError) { say(err.message, err.fix); return EXIT.usage; }
  if (err instanceof InfraError) { say(err.message, err.fix); return EXIT.unavailable; }
  if (err instanceof Error && err.name === 'KernelSpecError') { say(err.message); return EXIT.usage; }
  const e = err as Error;
  say(`internal error: ${e?.message ?? String(err)}`, process.env.NETLAB_DEBUG ? e?.stack : 'set NETLAB_DEBUG=1 for details, and report it');
  return EXIT.internal;
}

export async function main(argv: string[]): Promise<void> {
  withSbinPath();
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    process.exitCode = reportError(err);
  }
}
