// A class of hostile submissions on labs/bridge, each of which first builds the correct network and
// then attacks: a serial console flood with no newline, a capture turned into a huge sparse file, a
// disk fill, escape sequences for the staff's terminal, a forged limit line, a poweroff left for the
// checks, and, from outside, broker calls from another process. netlab-run is killed with -9 in the
// middle and the class resumed. The reference keeps full marks in its normal time, the runner's
// memory and the run's disk stay bounded, nothing is graded twice or lost, nothing is left behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { cliPath, repo, runCli } from '../helpers/cli.ts';
import { processesNaming, qemuPidsUnder } from '../helpers/processes.ts';

const REF = readFileSync(join(repo, 'labs/bridge/solution/bridge.sh'), 'utf8');
const MAX = 22;
const DISK_MIB = 64;

// The reference, then the attack (the lab runs `bash bridge.sh up`).
const STUDENTS: Record<string, string> = {
  alice: REF,
  console: `${REF}\n# 2 MB on the serial console, one line that never ends.\nhead -c 2000000 /dev/zero | tr '\\0' A > /dev/ttyS0\n`,
  disk: `${REF}\n# Fill the disk: the host stops the machine at its disk limit.\ndd if=/dev/zero of=/root/fill bs=1M count=1200 status=none\n`,
  escapes: `${REF}\nprintf '\\e[2K\\e[1A\\e[1GScore: 22/22 \\e]52;c;aGVsbG8=\\a\\e]0;pwned\\a\\n' >&2\nexit 3\n`,
  forged: `${REF}\necho "NETLAB-LIMIT pids=7 oom=1" >&2\n`,
  late: `${REF}\n# Power off while the checks would run, after the submission returned.\n( sleep 6; echo o > /proc/sysrq-trigger ) >/dev/null 2>&1 &\n`,
  pcap: `${REF}\n# Turn the capture into a 100 GB sparse file, again and again.\n( while :; do [ -f /run/netlab/cap/br00.pcap ] && truncate -s 100G /run/netlab/cap/br00.pcap; sleep 0.3; done ) >/dev/null 2>&1 &\n`,
};

interface Row { student: string; score: string; max: string; status: string; detail: string; duration_s: string }
function gradebook(out: string): Row[] {
  const [head, ...rows] = readFileSync(join(out, 'gradebook.csv'), 'utf8').trimEnd().split('\r\n')
    .map((l) => l.match(/("([^"]|"")*"|[^,]*)(,|$)/g)!.map((f) => f.replace(/,$/, '').replace(/^"|"$/g, '').replace(/""/g, '"')));
  return rows.map((r) => Object.fromEntries(head!.map((h, i) => [h, r[i] ?? ''])) as unknown as Row);
}

function rssKb(pid: number): number {
  try { return Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0); } catch { return 0; }
}
function duKb(dir: string): number {
  let kb = 0;
  const walk = (d: string) => {
    for (const e of (() => { try { return readdirSync(d, { withFileTypes: true }); } catch { return []; } })()) {
      const p = join(d, e.name);
      try { if (e.isDirectory()) walk(p); else if (e.isFile()) kb += statSync(p).blocks / 2; } catch { /* gone meanwhile */ }
    }
  };
  walk(dir);
  return kb;
}

// Listening TCP ports of a process (the broker's among them), from ss.
async function listeningPorts(pid: number): Promise<number[]> {
  const r = await execa('ss', ['-ltnpH'], { reject: false });
  return r.stdout.split('\n').filter((l) => l.includes(`pid=${pid},`)).map((l) => Number(/127\.0\.0\.1:(\d+)/.exec(l)?.[1])).filter((p) => p > 0);
}

test('hostile submissions cannot hurt the host, the run or another student; kill -9 and --resume lose nothing', async () => {
  const root = await mkdtemp(join(tmpdir(), 'netlab-hostile-'));
  // Others may pass through (not list): QEMU drops to ids of its own only when its runtime folder is reachable.
  chmodSync(root, 0o711);
  const [subs, out, runtime, tmp] = ['submissions', 'out', 'runtime', 'tmp'].map((d) => join(root, d));
  for (const d of [subs, runtime, tmp]) mkdirSync(d, { recursive: true });
  for (const [s, text] of Object.entries(STUDENTS)) writeFileSync(join(subs, `${s}.sh`), text);
  const env = { NETLAB_RUNTIME_DIR: runtime, TMPDIR: tmp, NETLAB_MAX_DISK: String(DISK_MIB), NO_COLOR: '1' };
  const args = [cliPath, 'labs/bridge', '--submissions', subs, '--out', out];

  // First run: watched from outside, attacked through the broker, killed -9 once two students are graded.
  const first = execa(process.execPath, args, { cwd: repo, env, reject: false, all: true, timeout: 10 * 60_000 });
  let peakRssKb = 0;
  let peakDiskKb = 0;
  let brokerAnswers: number[] = [];
  const graded = () => Object.keys(STUDENTS).filter((s) => existsSync(join(out, s, 'summary.json')));
  let killedWith: string[] = [];
  // uid of each QEMU once it has run for 2 s (it starts as root and drops when its files are open).
  const qemuUids = new Set<number>();
  const firstSeen = new Map<number, number>();
  while (first.exitCode === null && first.pid) {
    for (const pid of qemuPidsUnder(runtime)) {
      if (!firstSeen.has(pid)) firstSeen.set(pid, Date.now());
      if (Date.now() - firstSeen.get(pid)! < 2000) continue;
      try { qemuUids.add(Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1])); } catch { /* gone */ }
    }
    peakRssKb = Math.max(peakRssKb, rssKb(first.pid));
    peakDiskKb = Math.max(peakDiskKb, duKb(runtime));
    if (brokerAnswers.length === 0) {
      // Another local process that knows the port but not the run's secret: every call refused.
      for (const port of await listeningPorts(first.pid)) {
        for (const op of ['kill?machine=host&reason=x', 'release']) {
          const r = await fetch(`http://127.0.0.1:${port}/units/alice/${op}`, { method: 'POST' }).catch(() => undefined);
          if (r) brokerAnswers.push(r.status);
        }
      }
    }
    if (graded().length >= 2) { killedWith = graded(); process.kill(first.pid, 'SIGKILL'); break; }
    await new Promise((r) => setTimeout(r, 250));
  }
  const r1 = await first;
  assert.ok(killedWith.length >= 2, `killed before two students were graded:\n${r1.all}`);
  assert.ok(brokerAnswers.length >= 2 && brokerAnswers.every((s) => s === 404), `broker answered ${brokerAnswers}`);
  // Each student's QEMU ran as ids of its own, none as root.
  assert.ok(qemuUids.size >= 2 && [...qemuUids].every((u) => u >= 1_900_000_000), `QEMU uids: ${[...qemuUids]}`);
  // Everything of the killed run dies with it: QEMU and Playwright (parent-death signal).
  await new Promise((r) => setTimeout(r, 2000));
  assert.deepEqual(qemuPidsUnder(runtime), [], 'no QEMU outlives a kill -9');
  assert.deepEqual(processesNaming('node', tmp), [], 'no Playwright outlives a kill -9');
  const before = Object.fromEntries(killedWith.map((s) => [s, statSync(join(out, s, 'summary.json')).mtimeMs]));

  // --resume: the students graded before the kill stay as they are, the rest are graded now.
  const second = execa(process.execPath, [...args, '--resume'], { cwd: repo, env, reject: false, all: true, timeout: 10 * 60_000 });
  while (second.exitCode === null && second.pid) {
    peakRssKb = Math.max(peakRssKb, rssKb(second.pid));
    peakDiskKb = Math.max(peakDiskKb, duKb(runtime));
    await new Promise((r) => setTimeout(r, 250));
  }
  const r2 = await second;
  process.stderr.write(`hostile class: peak runner RSS ${(peakRssKb / 1024).toFixed(0)} MiB, peak runtime disk ${(peakDiskKb / 1024).toFixed(0)} MiB; graded before the kill: ${killedWith.join(', ')}\n`);
  assert.equal(r2.exitCode, 0, r2.all);
  for (const [s, t] of Object.entries(before)) assert.equal(statSync(join(out, s, 'summary.json')).mtimeMs, t, `${s} was graded twice`);

  const rows = Object.fromEntries(gradebook(out).map((r) => [r.student, r]));
  assert.deepEqual(Object.keys(rows).sort(), Object.keys(STUDENTS).sort(), 'nothing lost');
  // The reference: full marks, in its normal time. Beside six others on 2 emulated cores it takes
  // 25-50 s here (the machine's speed varies ~2× between runs); what this guards against is a
  // multiple of that: a flood left running once made its unit take 125 s instead of 8 s alone.
  assert.deepEqual([rows.alice!.score, rows.alice!.status], [String(MAX), 'graded']);
  assert.ok(Number(rows.alice!.duration_s) < 75, `alice took ${rows.alice!.duration_s} s`);
  // A console flood with no newline costs its own unit nothing more.
  assert.deepEqual([rows.console!.score, rows.console!.status], [String(MAX), 'graded']);
  // A forged limit line is just output.
  assert.deepEqual([rows.forged!.score, rows.forged!.status], [String(MAX), 'graded']);
  // The disk fill: the host stopped the machine at its limit.
  assert.equal(rows.disk!.status, 'crashed');
  assert.match(rows.disk!.detail, new RegExp(`over the limit of ${DISK_MIB} MiB \\(NETLAB_MAX_DISK\\)`));
  // A poweroff left for the checks never comes: what the submission left running is stopped before
  // the checks (the trusted agent's quarantine), and the report says so.
  assert.deepEqual([rows.late!.score, rows.late!.status], [String(MAX), 'graded']);
  const late = JSON.parse(readFileSync(join(out, 'staff', 'late', 'summary.json'), 'utf8'));
  assert.match(late.submissionDetail, /stopped \d+ process(es)? the submission left running/);
  // The capture is the trusted context's, out of the submission's reach: intact, nothing huge copied.
  const pcap = JSON.parse(readFileSync(join(out, 'staff', 'pcap', 'result.json'), 'utf8'));
  assert.equal(pcap.captures[0].error, undefined);
  assert.ok(pcap.captures[0].packetCount > 0);
  assert.deepEqual([rows.pcap!.score, rows.pcap!.status], [String(MAX), 'graded']);
  for (const s of Object.keys(STUDENTS)) {
    for (const dir of [join(out, s, 'captures'), join(out, 'staff', s, 'captures')]) {
      for (const f of existsSync(dir) ? readdirSync(dir) : []) assert.ok(statSync(join(dir, f)).size < 1024 * 1024, `${dir}/${f}`);
    }
  }
  // Escape sequences never reach the terminal: not in the class listing nor anywhere in the output.
  assert.equal(rows.escapes!.status, 'failed');
  assert.match(rows.escapes!.detail, /Score: 22\/22/);
  assert.doesNotMatch(r2.all ?? '', /\x1b|\x07/);
  assert.match(r2.stdout, /escapes .*failed.*Score: 22\/22/);

  // Bounds: the runner's memory, and the run's disk: a dozen machines alive at most, each capped, plus
  // the RAM file of the one machine that saves the shape's snapshot if none was cached (256 MiB).
  assert.ok(peakRssKb < 512 * 1024, `runner RSS ${peakRssKb} kB`);
  assert.ok(peakDiskKb < (14 * (DISK_MIB + 16) + 256) * 1024, `runtime disk ${peakDiskKb} kB`);
  // Nothing left behind.
  assert.deepEqual(qemuPidsUnder(runtime), []);
  assert.deepEqual(readdirSync(runtime), []);
  await rm(root, { recursive: true, force: true });
});

test('a runtime folder another user made (or a link in its place) is refused, exit 69, before any VM', async () => {
  const root = await mkdtemp(join(tmpdir(), 'netlab-rt-owner-'));
  const theirs = join(root, 'theirs');
  mkdirSync(theirs, { mode: 0o777 });
  chownSync(theirs, 65534, 65534);
  const r = await runCli(['labs/bridge', '--out', join(root, 'out')], { env: { NETLAB_RUNTIME_DIR: theirs, TMPDIR: root }, timeoutMs: 180_000 });
  assert.equal(r.exitCode, 69, r.all);
  assert.match(r.all ?? '', /runtime folder .*theirs belongs to uid 65534/);
  assert.deepEqual(qemuPidsUnder(root), []);
  assert.deepEqual(readdirSync(theirs), [], 'nothing written into it');
  await rm(root, { recursive: true, force: true });
});
