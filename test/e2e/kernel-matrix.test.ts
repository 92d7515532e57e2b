// The nightly kernel matrix on real VMs: labs/bridge and labs/veth on bullseye (5.10) and bookworm
// (6.1) give 4 cells with the right versions; the same run split in two shards (--shard 1/2, 2/2)
// and merged gives the same matrix and reports; a baseline marks a regression and a fix (exit 1),
// and failures the baseline had too exit 1, or 0 with --allow-known. The baseline cases use a tiny
// fixture lab whose "Linux 6 or newer" check fails on 5.10 only, and whose machine pins trixie:
// the versions prove --kernel overrides the pin.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Matrix, MatrixCell } from '../../reports/matrix.ts';
import { runCli } from '../helpers/cli.ts';
import { qemuPidsUnder } from '../helpers/processes.ts';

const runtimeDir = await mkdtemp(join(tmpdir(), 'netlab-e2e-rt-'));
const KERNELS = ['-k', 'debian:bookworm', '-k', 'debian:bullseye'];

async function netlab(args: string[]) {
  const r = await runCli(args, { timeoutMs: 600_000, env: { NETLAB_RUNTIME_DIR: runtimeDir } });
  assert.deepEqual(qemuPidsUnder(runtimeDir), [], 'no qemu left behind');
  assert.deepEqual(existsSync(runtimeDir) ? readdirSync(runtimeDir) : [], [], 'no run folder left behind');
  return r;
}
const readJson = <T>(...p: string[]) => JSON.parse(readFileSync(join(...p), 'utf8')) as T;
const outDir = () => mkdtemp(join(tmpdir(), 'netlab-matrix-'));
// What must not differ between two runs of the same thing: everything but times (and how many
// packets a capture caught: ARP refreshes and retransmits depend on timing too).
const stable = (cells: MatrixCell[]) => cells.map(({ durationMs: _, ...c }) => c);
const stableSummary = (s: Record<string, unknown>) => JSON.parse(JSON.stringify(s, (k, v) => (['durationMs', 'startedAt', 'packetCount'].includes(k) ? undefined : v)));

let single: { out: string; matrix: Matrix } | undefined;

test('labs/bridge + labs/veth × bullseye + bookworm: 4 cells, kernel versions from the guests, linked reports', async () => {
  const out = await outDir();
  const r = await netlab(['labs/bridge', 'labs/veth', ...KERNELS, '--out', out]);
  assert.equal(r.exitCode, 0, r.all);
  const m = readJson<Matrix>(out, 'matrix.json');
  assert.deepEqual(m.labs.map((l) => l.name), ['bridge', 'veth']);
  assert.deepEqual(m.kernels.map((k) => k.name), ['debian:bullseye', 'debian:bookworm'], 'oldest release first');
  assert.deepEqual(m.cells.map((c) => [c.unit, c.lab, c.kernel, c.status]), [
    ['bridge@debian-bullseye', 'bridge', 'debian:bullseye', 'pass'], ['bridge@debian-bookworm', 'bridge', 'debian:bookworm', 'pass'],
    ['veth@debian-bullseye', 'veth', 'debian:bullseye', 'pass'], ['veth@debian-bookworm', 'veth', 'debian:bookworm', 'pass'],
  ]);
  for (const c of m.cells) {
    assert.match(c.kernelVersion, c.kernel === 'debian:bullseye' ? /^5\.10\.\d+-\d+-cloud-amd64$/ : /^6\.1\.\d+-\d+-cloud-amd64$/);
    assert.equal(c.score, c.maxScore);
    assert.ok(c.maxScore > 0 && c.durationMs > 0);
    assert.deepEqual(c.failedChecks, []);
    assert.match(c.imageRecipeHash, /^[0-9a-f]{16}$/);
    assert.equal(c.report, `${c.unit}/index.html`);
    assert.ok(existsSync(join(out, c.report!)), c.report!);
    assert.equal(readJson<{ kernel: { version: string } }>(out, c.unit, 'summary.json').kernel.version, c.kernelVersion);
  }
  assert.equal(new Set(m.cells.map((c) => c.imageRecipeHash)).size, 1, 'one image for every cell');
  const html = readFileSync(join(out, 'matrix.html'), 'utf8');
  assert.equal(html.match(/data-testid="cell"/g)?.length, 4);
  assert.equal(html.match(/data-status="pass"/g)?.length, 4);
  assert.match(r.stdout, /Kernel matrix: 2 labs × 2 kernels: 4 pass/);
  single = { out, matrix: m };
});

test('--shard 1/2 and 2/2 split the units whole; `netlab-run merge` gives the same matrix and reports as one run', async () => {
  assert.ok(single, 'needs the unsharded run of the test before');
  const shards: string[] = [];
  const units: string[][] = [];
  for (const i of [1, 2]) {
    const out = await outDir();
    const r = await netlab(['labs/bridge', 'labs/veth', ...KERNELS, '--out', out, '--shard', `${i}/2`]);
    assert.equal(r.exitCode, 0, r.all);
    assert.ok(existsSync(join(out, 'blob-report', `report-${i}.zip`)), 'every shard writes a blob report');
    units.push(readdirSync(out).filter((d) => existsSync(join(out, d, 'summary.json'))).sort());
    shards.push(out);
  }
  // Each shard ran whole units (one spec file each), none twice, all four between them.
  assert.ok(units[0]!.length > 0 && units[1]!.length > 0, JSON.stringify(units));
  assert.deepEqual([...units[0]!, ...units[1]!].sort(), single!.matrix.cells.map((c) => c.unit).sort());
  const merged = await outDir();
  const r = await netlab(['merge', ...shards, '--out', merged]);
  assert.equal(r.exitCode, 0, r.all);
  assert.match(r.stdout, /merged 2 blob reports: 4 units/);
  const m = readJson<Matrix>(merged, 'matrix.json');
  assert.deepEqual(stable(m.cells), stable(single!.matrix.cells));
  assert.deepEqual(m.kernels, single!.matrix.kernels);
  for (const c of m.cells) {
    // The unit folders are where the single run put them, with the same grades, captures included.
    assert.deepEqual(stableSummary(readJson(merged, c.unit, 'summary.json')), stableSummary(readJson(single!.out, c.unit, 'summary.json')));
    assert.deepEqual(stableSummary(readJson(merged, c.unit, 'staff', 'summary.json')), stableSummary(readJson(single!.out, c.unit, 'staff', 'summary.json')));
    assert.ok(existsSync(join(merged, c.unit, 'index.html')));
    assert.ok(Math.abs(c.durationMs - single!.matrix.cells.find((x) => x.unit === c.unit)!.durationMs) < 60_000, 'a merged cell keeps its shard\'s wall time');
  }
  assert.ok(existsSync(join(merged, 'bridge@debian-bookworm', 'captures', 'br00.pcap')), 'pcaps come through the blob reports');
  assert.ok(existsSync(join(merged, 'playwright-report', 'index.html')));
  assert.ok(existsSync(join(merged, 'matrix.html')));
});

const kver = 'test/fixtures/matrix/kver';
const cell = (kernel: string, status: string, six: string) => ({ lab: 'kver', kernel, status, checks: { uname: 'passed', 'linux-6-or-newer': six } });

test('a baseline: a cell that passed and fails now is a regression (exit 1), one that failed and passes is fixed', async () => {
  const out = await outDir();
  const baseline = join(out, 'last-night.json');
  // Last night (as this baseline has it) bullseye passed and bookworm failed: today it is the other way round.
  await writeFile(baseline, JSON.stringify({ generatedAt: '2026-01-01T02:00:00.000Z', cells: [cell('debian:bullseye', 'pass', 'passed'), cell('debian:bookworm', 'fail', 'failed')] }));
  const r = await netlab([kver, ...KERNELS, '--out', join(out, 'report'), '--baseline', baseline, '--allow-known']);
  assert.equal(r.exitCode, 1, r.all);
  assert.match(r.stdout, /regressed: kver on debian:bullseye \(pass → fail; now failing: linux-6-or-newer\)/);
  assert.match(r.stdout, /fixed: kver on debian:bookworm \(fail → pass; passing again: linux-6-or-newer\)/);
  const m = readJson<Matrix>(out, 'report', 'matrix.json');
  // The lab's machine pins debian:trixie; --kernel wins, and the guests say so.
  assert.deepEqual(m.cells.map((c) => [c.kernel, c.kernelVersion.split('.').slice(0, 2).join('.'), c.status, c.change?.mark]),
    [['debian:bullseye', '5.10', 'fail', 'regressed'], ['debian:bookworm', '6.1', 'pass', 'fixed']]);
  assert.deepEqual(m.cells[0]!.change!.regressedChecks, ['linux-6-or-newer']);
  assert.deepEqual(m.baseline!.regressed.map((x) => x.unit), ['kver@debian-bullseye']);
  assert.deepEqual(m.baseline!.fixed.map((x) => x.unit), ['kver@debian-bookworm']);
  const html = readFileSync(join(out, 'report', 'matrix.html'), 'utf8');
  assert.match(html, /data-kernel="debian:bullseye" data-status="fail" data-change="regressed"/);
  assert.match(html, /data-kernel="debian:bookworm" data-status="pass" data-change="fixed"/);
});

test('known failures only (failing in the baseline too): exit 1, or 0 with --allow-known; a summary.json works as baseline', async () => {
  const out = await outDir();
  const baseline = join(out, 'last-night.json');
  await writeFile(baseline, JSON.stringify({ cells: [cell('debian:bullseye', 'fail', 'failed'), cell('debian:bookworm', 'pass', 'passed')] }));
  const strict = await netlab([kver, ...KERNELS, '--out', join(out, 'a'), '--baseline', baseline]);
  assert.equal(strict.exitCode, 1, strict.all);
  assert.match(strict.stdout, /regressed: none/);
  assert.match(strict.stdout, /known: kver on debian:bullseye \(fail → fail; failing: linux-6-or-newer\)/);
  const allowed = await netlab([kver, ...KERNELS, '--out', join(out, 'b'), '--baseline', join(out, 'a', 'matrix.json'), '--allow-known']);
  assert.equal(allowed.exitCode, 0, allowed.all);
  assert.equal(readJson<Matrix>(out, 'b', 'matrix.json').baseline!.known.length, 1);
  // One unit against its own earlier summary.json: the matrix is written all the same, nothing changed.
  const one = await netlab([kver, '-k', 'debian:bullseye', '--out', join(out, 'c'), '--baseline', join(out, 'a', 'kver@debian-bullseye', 'staff', 'summary.json'), '--allow-known']);
  assert.equal(one.exitCode, 0, one.all);
  assert.equal(readJson<Matrix>(out, 'c', 'matrix.json').cells[0]!.change!.mark, 'known');
});
