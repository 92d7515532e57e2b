// `npm run bench`: the speed figures of netlab-run, measured in one run on this machine, printed as a
// table and written to bench-results.json (one number per figure). Flags: --quick skips the cold
// image/kernel builds; --runs N sets the sample count for medians (default 5); --class measures only
// class50Ms, a class of 50 bridge submissions graded in one run (--workers N to set its parallelism);
// --matrix measures only matrixMs, every lab on 4 Debian kernels in one run (long: not by default).
// --labs measures only the labs' warm wall times (with --runs 1: one run each, no warm-up), the
// bridge lab on both backends (bridgeLabMs, vagrantBridgeLabMs). --engine measures only the engine
// figures (boots, restores, RSS), no lab. --fresh measures a newcomer's first run from an empty cache.
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { chooseAccel } from '../vm/qemu/accel.ts';
import { DEFAULT_PACKAGES, ensureImage } from '../vm/build/image.ts';
import { ensureKernel } from '../vm/build/kernel.ts';
import { startVmSet, type MachinePlan } from '../vm/qemu/machine-set.ts';
import type { Accel } from '../vm/qemu/args.ts';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
/** --class: only the class figure (a class of 50 bridge submissions), the rest of the bench skipped. */
const classOnly = args.includes('--class');
const workersAt = args.indexOf('--workers');
const CLASS_WORKERS = workersAt >= 0 ? Number(args[workersAt + 1]) : undefined;
const runsAt = args.indexOf('--runs');
const RUNS = runsAt >= 0 ? Number(args[runsAt + 1]) : 5;
const repo = new URL('..', import.meta.url).pathname;
const resultsFile = join(repo, 'bench-results.json');

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]!; };
const results: Record<string, number | string | null> = existsSync(resultsFile) ? JSON.parse(readFileSync(resultsFile, 'utf8')) : {};
const rows: [string, string, string][] = [];
function put(key: string, value: number | string | null, label: string, note = '') {
  results[key] = typeof value === 'number' ? Math.round(value * 10) / 10 : value;
  rows.push([label, value === null ? 'n/a' : typeof value === 'number' ? `${Math.round(value)}` : value, note]);
  process.stderr.write(`bench: ${label}: ${value ?? 'n/a'} ${note}\n`);
}
async function time(f: () => Promise<unknown>): Promise<number> { const t = performance.now(); await f(); return performance.now() - t; }

async function coldBuilds() {
  const cache = await mkdtemp(join(tmpdir(), 'netlab-bench-cache-'));
  const saved = process.env.NETLAB_CACHE;
  process.env.NETLAB_CACHE = cache;
  try {
    put('imageBuildColdMs', await time(() => ensureImage()), 'image build, cold (ms)', 'mmdebstrap from Debian, mkfs.ext4 -d');
    put('dockerImageBuildColdMs', await time(() => ensureImage({ packages: [...DEFAULT_PACKAGES, 'docker.io', 'apparmor'] })), 'image build with Docker, cold (ms)',
      'the base packages, docker.io and apparmor (a machine with docker: true)');
    put('kernelFetchColdMs', await time(() => ensureKernel('debian:bookworm')), 'kernel fetch, cold (ms)', 'debian:bookworm: apt update, .deb, depmod, disks');
  } finally {
    if (saved === undefined) delete process.env.NETLAB_CACHE; else process.env.NETLAB_CACHE = saved;
    await rm(cache, { recursive: true, force: true });
  }
}

async function bootSamples(accel: Accel, snapshots: boolean, n: number) {
  process.env.NETLAB_SNAPSHOTS = snapshots ? '1' : '0';
  const image = await ensureImage();
  const kernel = await ensureKernel('debian:bookworm');
  const machines: MachinePlan[] = [{ name: 'bench', memoryMb: 256, cpus: 1, kernel }];
  if (snapshots) { const warm = await startVmSet({ label: 'bench', image, machines, accel }); await warm.stop(); }
  const ms: number[] = [];
  let rss = 0;
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    const set = await startVmSet({ label: 'bench', image, machines, accel });
    const r = await set.machine('bench').exec('true');
    ms.push(performance.now() - t);
    if (r.exitCode !== 0) throw new Error('first command failed');
    await set.machine('bench').exec('ip -br link; ls /usr/lib/modules; tcpdump --version');
    for (const pid of set.qemuPids()) {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      rss = Math.max(rss, m ? Number(m[1]) / 1024 : 0);
    }
    await set.stop();
  }
  delete process.env.NETLAB_SNAPSHOTS;
  return { ms: median(ms), all: ms, rss };
}

async function labWall(lab: string, n: number, extra: string[] = []): Promise<number | null> {
  if (!existsSync(join(repo, 'labs', lab, 'lab.yaml'))) return null;
  const ms: number[] = [];
  const out = await mkdtemp(join(tmpdir(), 'netlab-bench-out-'));
  const argv = [join(repo, 'bin/netlab-run.mjs'), `labs/${lab}`, '--out', out, ...extra];
  // One unmeasured run makes sure image, kernel and snapshot (or box) are warm (skipped for a quick --runs 1).
  if (RUNS > 1) await execa(process.execPath, argv, { cwd: repo, reject: false });
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    const r = await execa(process.execPath, argv, { cwd: repo, reject: false });
    ms.push(performance.now() - t);
    if (r.exitCode !== 0) process.stderr.write(`bench: ${lab} exited ${r.exitCode}\n${r.stderr.slice(-500)}\n`);
  }
  await rm(out, { recursive: true, force: true });
  return median(ms);
}

// A class of 50 bridge submissions (copies of the reference and of the typical mistakes), graded in
// one `--submissions` run: wall time, and the gradebook's statuses as a sanity check.
async function classWall(size: number): Promise<{ ms: number; workers: string; statuses: string }> {
  const root = await mkdtemp(join(tmpdir(), 'netlab-bench-class-'));
  try {
    const subs = join(root, 'submissions');
    mkdirSync(subs);
    const sources = [join(repo, 'labs/bridge/solution/bridge.sh'),
      ...readdirSync(join(repo, 'labs/bridge/examples')).sort().map((f) => join(repo, 'labs/bridge/examples', f))];
    for (let i = 0; i < size; i++) copyFileSync(sources[i % sources.length]!, join(subs, `student${String(i + 1).padStart(2, '0')}.sh`));
    const cli = join(repo, 'bin/netlab-run.mjs');
    // Warm image, kernel and snapshot first, unmeasured.
    await execa(process.execPath, [cli, 'labs/bridge', '--out', join(root, 'warm')], { cwd: repo, reject: false });
    const t = performance.now();
    const r = await execa(process.execPath, [cli, 'labs/bridge', '--submissions', subs, '--out', join(root, 'out'), ...(CLASS_WORKERS ? ['-j', String(CLASS_WORKERS)] : [])],
      { cwd: repo, reject: false, all: true });
    const ms = performance.now() - t;
    if (r.exitCode !== 0) process.stderr.write(`bench: class exited ${r.exitCode}\n${(r.all ?? '').slice(-2000)}\n`);
    const [header, ...csv] = readFileSync(join(root, 'out', 'gradebook.csv'), 'utf8').trim().split('\r\n');
    // By the header's name: columns were added after status (detail, tampered).
    const at = header!.split(',').indexOf('status');
    const counts = new Map<string, number>();
    for (const line of csv) { const st = line.split(',')[at]!; counts.set(st, (counts.get(st) ?? 0) + 1); }
    return { ms, workers: CLASS_WORKERS ? String(CLASS_WORKERS) : 'default', statuses: [...counts].map(([k, v]) => `${v} ${k}`).join(', ') };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

if (classOnly) {
  const c = await classWall(50);
  put('class50Ms', c.ms, 'class of 50 bridge submissions, `--submissions` (ms)', `workers ${c.workers}; ${c.statuses}`);
  writeFileSync(resultsFile, JSON.stringify(results, null, 2) + '\n');
  process.stdout.write(`\n${rows.map((r) => r.join('  ')).join('\n')}\nwritten: ${resultsFile}\n`);
  process.exit(0);
}

// --matrix: the nightly kernel matrix, every lab on the four Debian kernels in one run (kernels and
// image cached; snapshots as they are), and how its cells came out.
async function matrixWall(): Promise<{ ms: number; note: string }> {
  const out = await mkdtemp(join(tmpdir(), 'netlab-bench-matrix-'));
  try {
    const kernels = ['bullseye', 'bookworm', 'trixie', 'sid'].flatMap((k) => ['--kernel', `debian:${k}`]);
    const t = performance.now();
    const r = await execa(process.execPath, [join(repo, 'bin/netlab-run.mjs'), 'labs', ...kernels, '--out', out], { cwd: repo, reject: false, all: true });
    const ms = performance.now() - t;
    if (r.exitCode !== 0) process.stderr.write(`bench: matrix exited ${r.exitCode}\n${(r.all ?? '').slice(-2000)}\n`);
    const m = JSON.parse(readFileSync(join(out, 'matrix.json'), 'utf8')) as { cells: { status: string; durationMs: number }[]; totals: Record<string, number> };
    const busy = m.cells.reduce((t, c) => t + c.durationMs, 0);
    return { ms, note: `${m.cells.length} cells: ${Object.entries(m.totals).filter(([, n]) => n).map(([s, n]) => `${n} ${s}`).join(', ')}; exit ${r.exitCode}; sum of cell times ${Math.round(busy / 1000)} s` };
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}

if (args.includes('--matrix')) {
  const m = await matrixWall();
  put('matrixMs', m.ms, '`netlab-run labs` × 4 Debian kernels, one run (ms)', m.note);
  writeFileSync(resultsFile, JSON.stringify(results, null, 2) + '\n');
  process.stdout.write(`\n${rows.map((r) => r.join('  ')).join('\n')}\nwritten: ${resultsFile}\n`);
  process.exit(0);
}

// --fresh: what a newcomer waits for after scripts/setup.sh, from an empty cache to the first graded
// report of labs/bridge (image build, kernel fetch, cold boot, snapshot, the lab), and setup.sh itself
// on this machine (all installed: the apt part of a fresh machine is measured by hand, see README).
if (args.includes('--fresh')) {
  await coldBuilds();
  const cache = await mkdtemp(join(tmpdir(), 'netlab-bench-fresh-'));
  const out = await mkdtemp(join(tmpdir(), 'netlab-bench-out-'));
  try {
    const t = performance.now();
    const r = await execa(process.execPath, [join(repo, 'bin/netlab-run.mjs'), 'labs/bridge', '--out', out], { cwd: repo, reject: false, env: { NETLAB_CACHE: cache } });
    put('freshFirstReportMs', performance.now() - t, '`netlab-run labs/bridge` from an empty cache to the report (ms)', `exit ${r.exitCode}; image, kernel, cold boot, snapshot, lab`);
    put('setupInstalledMs', await time(() => execa('bash', [join(repo, 'scripts/setup.sh')])), '`scripts/setup.sh` with everything installed (ms)');
  } finally {
    await rm(cache, { recursive: true, force: true });
    await rm(out, { recursive: true, force: true });
  }
  finish();
}

// --labs: only the labs' wall times (the engine figures stay as the last full run wrote them).
if (!args.includes('--labs')) {
  if (!quick) await coldBuilds();
  put('imageCachedMs', median(await Promise.all(Array.from({ length: RUNS }, () => time(() => ensureImage())))), 'image, cached lookup (ms)');
  put('kernelCachedMs', median(await Promise.all(Array.from({ length: RUNS }, () => time(() => ensureKernel('debian:bookworm'))))), 'kernel, cached lookup (ms)');
  const k = await ensureKernel('debian:bookworm');
  const accel = await chooseAccel({ kernel: k.kernel, initrd: k.initrd });
  put('accel', accel.accel, 'accelerator', accel.reason);
  const cold = await bootSamples('tcg', false, RUNS);
  put('coldBootMs', cold.ms, 'cold boot to first SSH command, TCG (ms, median)', `samples ${cold.all.map(Math.round).join(' ')}`);
  const restore = await bootSamples('tcg', true, RUNS);
  put('restoreMs', restore.ms, 'snapshot restore to first SSH command, TCG (ms, median)', `samples ${restore.all.map(Math.round).join(' ')}`);
  put('restoreSpeedup', cold.ms / restore.ms, 'cold boot / restore (×)');
  put('rssPerVmMb', restore.rss, 'host RSS per VM, restored (MiB)', '256 MiB guest; VmRSS counts the snapshot RAM file pages it maps, which all copies share');
  // A cold boot touches all guest RAM: init_on_free=1 zeroes every page the kernel frees at boot (the
  // price of small snapshots); it happens once per machine shape.
  put('rssColdBootVmMb', cold.rss, 'host RSS per VM, cold-booted (MiB)', 'init_on_free zeroes all RAM once');
  if (accel.accel === 'kvm') {
    put('coldBootKvmMs', (await bootSamples('kvm', false, RUNS)).ms, 'cold boot to first SSH command, KVM (ms, median)');
    put('restoreKvmMs', (await bootSamples('kvm', true, RUNS)).ms, 'restore to first SSH command, KVM (ms, median)');
  } else {
    put('coldBootKvmMs', null, 'cold boot, KVM', `not measured: ${accel.reason}`);
  }
}
function finish(): never {
  writeFileSync(resultsFile, JSON.stringify(results, null, 2) + '\n');
  const w = Math.max(...rows.map((r) => r[0].length));
  process.stdout.write(`\n${'figure'.padEnd(w)}  ${'value'.padStart(8)}  note\n`);
  for (const [label, value, note] of rows) process.stdout.write(`${label.padEnd(w)}  ${value.padStart(8)}  ${note}\n`);
  process.stdout.write(`\nwritten: ${resultsFile}\n`);
  process.exit(0);
}
if (args.includes('--engine')) finish();

const labRuns = Math.max(1, Math.min(RUNS, 3));
put('bridgeLabMs', await labWall('bridge', labRuns), '`netlab-run labs/bridge`, warm (ms, median)');
// The same lab on the Vagrant backend (vagrant-libvirt, TCG, cold boots: no snapshots there).
const hasVagrant = (await execa('sh', ['-c', 'command -v vagrant && ls -d /usr/share/rubygems-integration/all/gems/vagrant-libvirt-*'], { reject: false })).exitCode === 0;
put('vagrantBridgeLabMs', hasVagrant ? await labWall('bridge', labRuns, ['--backend', 'vagrant']) : null,
  '`netlab-run labs/bridge --backend vagrant`, warm box (ms, median)', hasVagrant ? 'vagrant-libvirt, TCG' : 'not measured: no vagrant-libvirt (scripts/setup-vagrant.sh)');
put('overlayLabMs', await labWall('overlay', labRuns), '`netlab-run labs/overlay`, warm (ms, median)');
// Every other lab once (warm): the wall time a student or CI sees per lab.
const camel = (n: string) => n.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
for (const lab of readdirSync(join(repo, 'labs')).filter((d) => existsSync(join(repo, 'labs', d, 'lab.yaml'))).sort()) {
  if (lab === 'bridge' || lab === 'overlay') continue;
  put(`${camel(lab)}LabMs`, await labWall(lab, 1), `\`netlab-run labs/${lab}\`, warm (ms)`);
}
// A Docker lab against the by-hand lab it mirrors (target: at most 2×).
const ratio = (a: unknown, b: unknown) => (typeof a === 'number' && typeof b === 'number' ? a / b : null);
put('dockerModesVsHostNone', ratio(results.dockerModesLabMs, results.hostNoneLabMs), 'labs/docker-modes / labs/host-none, warm (×)', 'target ≤ 2');
put('dockerPublishVsNat', ratio(results.dockerPublishLabMs, results.natLabMs), 'labs/docker-publish / labs/nat, warm (×)', 'target ≤ 2');
put('dockerOverlayVsOverlay', ratio(results.dockerOverlayLabMs, results.overlayLabMs), 'labs/docker-overlay / labs/overlay, warm (×)', 'target ≤ 2 (missed: two dockerd restarts, two overlay containers)');

finish();
