// A whole class graded in one run (test/fixtures/labs/bridge-graded: weighted, capped, partial and
// hidden checks): the reference, typical mistakes, and hostile submissions (empty, syntax error,
// endless loop, fork bomb, poweroff, an escape to the host). Each student in fresh VMs; the gradebook
// is exact; nothing hidden reaches a student; nothing is left running; --resume re-grades only what changed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repo, runCli } from '../helpers/cli.ts';
import { GradescopeResults } from '../helpers/gradescope.ts';
import { validateJUnit, xpath } from '../helpers/junit.ts';
import { qemuPidsUnder } from '../helpers/processes.ts';

const LAB = 'test/fixtures/labs/bridge-graded';
const fixture = (p: string) => join(repo, 'test/fixtures/submissions', p);
const example = (p: string) => join(repo, 'labs/bridge/examples', p);
const CHECKS = ['namespaces', 'gateway', 'routes', 'ping-12', 'ping-21', 'ping-gw', 'addresses', 'ports-up', 'zebra-vlan', 'zebra-arp'];

// student → [score, status, points per check in CHECKS order]; max 15 (reach: 3+2+1 capped at 5).
const EXPECTED: Record<string, [number, string, number[]]> = {
  alice: [15, 'graded', [1, 1, 2, 3, 2, 1, 2, 2, 1, 1]], // the reference solution
  bob: [14, 'graded', [1, 0, 2, 3, 2, 0, 2, 2, 1, 1]], // no bridge address: the reach cap keeps 5 of 5
  carol: [10, 'graded', [1, 1, 2, 0, 0, 1, 2, 1, 1, 1]], // (a folder) veth2 down: partial credit for ports
  dan: [13, 'graded', [1, 1, 0, 3, 2, 1, 2, 2, 1, 1]], // no default routes
  empty: [0, 'graded', [0, 0, 0, 0, 0, 0, 0, 0, 0, 0]],
  syntax: [0, 'failed', [0, 0, 0, 0, 0, 0, 0, 0, 0, 0]],
  loop: [0, 'timeout', [0, 0, 0, 0, 0, 0, 0, 0, 0, 0]],
  bomb: [0, 'crashed', [0, 0, 0, 0, 0, 0, 0, 0, 0, 0]],
  poweroff: [0, 'crashed', [0, 0, 0, 0, 0, 0, 0, 0, 0, 0]],
  escape: [0, 'graded', [0, 0, 0, 0, 0, 0, 0, 0, 0, 0]],
  frank: [0, 'missing', [0, 0, 0, 0, 0, 0, 0, 0, 0, 0]], // a folder without bridge.sh
};

function parseCsv(text: string): Record<string, string>[] {
  const [head, ...rows] = text.trimEnd().split('\r\n').map((l) => l.match(/("([^"]|"")*"|[^,]*)(,|$)/g)!.map((f) => f.replace(/,$/, '').replace(/^"|"$/g, '').replace(/""/g, '"')));
  return rows.map((r) => Object.fromEntries(head!.map((h, i) => [h, r[i] ?? ''])));
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)]));
}

test('a class of 11: exact gradebook, a report per student, hostile code contained, nothing leaked or left behind', async () => {
  // A server on this machine's loopback: the escape submission must not reach it through 10.0.2.2.
  let hits = 0;
  const server = createServer((_req, res) => { hits++; res.end('reached'); });
  server.on('connection', () => { hits++; });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;

  const root = await mkdtemp(join(tmpdir(), 'netlab-class-e2e-'));
  // Others may pass through (not list): QEMU drops to ids of its own only when its runtime folder is reachable.
  chmodSync(root, 0o711);
  const [subs, out, runtime, tmp] = ['submissions', 'out', 'runtime', 'tmp'].map((d) => join(root, d));
  for (const d of [subs, runtime, tmp, join(subs, 'carol'), join(subs, 'frank')]) mkdirSync(d, { recursive: true });
  copyFileSync(join(repo, 'labs/bridge/solution/bridge.sh'), join(subs, 'alice.sh'));
  copyFileSync(example('no-bridge-address.sh'), join(subs, 'bob.sh'));
  copyFileSync(example('veth-down.sh'), join(subs, 'carol', 'bridge.sh'));
  copyFileSync(example('no-default-route.sh'), join(subs, 'dan.sh'));
  copyFileSync(fixture('hostile/empty.sh'), join(subs, 'empty.sh'));
  copyFileSync(fixture('hostile/syntax-error.sh'), join(subs, 'syntax.sh'));
  copyFileSync(fixture('hostile/infinite-loop.sh'), join(subs, 'loop.sh'));
  copyFileSync(fixture('hostile/fork-bomb.sh'), join(subs, 'bomb.sh'));
  copyFileSync(fixture('hostile/poweroff.sh'), join(subs, 'poweroff.sh'));
  writeFileSync(join(subs, 'frank', 'notes.txt'), 'forgot the script');
  writeFileSync(join(subs, 'escape.sh'), [
    '#!/bin/bash', '# Tries to reach a server on the grading host through QEMU\'s user-network gateway.',
    `if curl -s -m 3 -o /dev/null http://10.0.2.2:${port}/; then echo "REACHED THE HOST"; else echo "host unreachable (curl exit $?)"; fi`,
    `if timeout 3 bash -c 'exec 3<>/dev/tcp/10.0.2.2/${port}' 2>/dev/null; then echo "TCP CONNECTED"; else echo "no TCP connection"; fi`, '',
  ].join('\n'));

  const env = { NETLAB_RUNTIME_DIR: runtime, TMPDIR: tmp };
  const started = Date.now();
  const r = await runCli([LAB, '--submissions', subs, '--out', out, '--format', 'gradescope', '--format', 'junit'], { env, timeoutMs: 20 * 60_000 });
  const wallMs = Date.now() - started;
  server.close();
  process.stderr.write(`class of ${Object.keys(EXPECTED).length}: ${(wallMs / 1000).toFixed(1)} s\n`);
  assert.equal(r.exitCode, 0, r.all);

  // The gradebook, exactly.
  const rows = parseCsv(readFileSync(join(out, 'gradebook.csv'), 'utf8'));
  assert.deepEqual(rows.map((x) => x.student), Object.keys(EXPECTED).sort());
  for (const row of rows) {
    const [score, status, points] = EXPECTED[row.student!]!;
    assert.deepEqual([row.score, row.max, row.status], [String(score), '15', status], `${row.student}: ${JSON.stringify(row)}`);
    assert.deepEqual(CHECKS.map((c) => Number(row[c])), points, `${row.student} per check`);
    if (status !== 'missing') assert.ok(Number(row.duration_s) > 0, `${row.student} duration`);
  }
  assert.match(rows.find((x) => x.student === 'loop')!.detail!, /ran past its time limit \(stopped after [34]\d s\)/);
  assert.match(rows.find((x) => x.student === 'bomb')!.detail!, /limit of 512 processes/);
  assert.match(rows.find((x) => x.student === 'poweroff')!.detail!, /powered off or crashed/);
  assert.match(rows.find((x) => x.student === 'syntax')!.detail!, /exited 2: .*syntax error/);

  // Every student has a report folder (safe to hand out) and a staff copy; Gradescope files validate.
  for (const s of Object.keys(EXPECTED)) {
    for (const f of ['index.html', 'summary.json', 'result.json']) {
      assert.ok(existsSync(join(out, s, f)), `${s}/${f}`);
      assert.ok(existsSync(join(out, 'staff', s, f)), `staff/${s}/${f}`);
    }
    assert.ok(!existsSync(join(out, s, 'staff')));
    if (s === 'frank') continue;
    const gs = JSON.parse(readFileSync(join(out, 'staff', s, 'results.json'), 'utf8'));
    const parsed = GradescopeResults.safeParse(gs);
    assert.ok(parsed.success, `${s}: ${JSON.stringify(!parsed.success && parsed.error.issues)}`);
    assert.equal(gs.score, EXPECTED[s]![0]);
    assert.deepEqual(gs.tests.map((t: { visibility: string }) => t.visibility).slice(-2), ['hidden', 'after_due_date']);
  }
  // Nothing of the hidden checks in any student's folder; all of it in the staff copies.
  for (const s of Object.keys(EXPECTED)) {
    for (const f of filesUnder(join(out, s)).filter((f) => !f.endsWith('.pcap'))) {
      const text = readFileSync(f, 'utf8');
      for (const secret of ['zebra', 'vlan_filtering']) assert.ok(!text.includes(secret), `${secret} leaked into ${f}`);
    }
  }
  assert.match(readFileSync(join(out, 'staff', 'alice', 'result.json'), 'utf8'), /zebra: the bridge does not filter VLANs/);
  // The hostile ones, contained and explained.
  const poweroff = JSON.parse(readFileSync(join(out, 'poweroff', 'result.json'), 'utf8'));
  assert.equal(poweroff.submissionRun.status, 'crashed');
  assert.deepEqual(poweroff.submissionRun.down, ['host']);
  assert.ok(poweroff.checks.every((c: { status: string; points: number }) => c.status === 'error' && c.points === 0));
  const escape = JSON.parse(readFileSync(join(out, 'escape', 'result.json'), 'utf8'));
  const said = escape.setup.find((c: { phase: string }) => c.phase === 'submission').stdout;
  assert.match(said, /host unreachable \(curl exit \d+\)\nno TCP connection/);
  assert.equal(hits, 0, 'the guest reached a server on the host');
  assert.match(readFileSync(join(out, 'loop', 'index.html'), 'utf8'), /ran past its time limit/);

  // The staff index lists everyone; JUnit validates and counts the graded failures.
  const index = readFileSync(join(out, 'index.html'), 'utf8');
  assert.equal((index.match(/data-testid="student"/g) ?? []).length, 11);
  const junit = join(out, 'junit.xml');
  const v = await validateJUnit(junit);
  assert.ok(v.ok, v.output);
  assert.equal(await xpath(junit, 'count(/testsuites/testsuite)'), '10');
  assert.equal(await xpath(junit, 'count(//testsuite[@name="alice"]/testcase/failure)'), '0');
  assert.equal(await xpath(junit, 'count(//testsuite[@name="bob"]/testcase/failure)'), '2');
  assert.equal(await xpath(junit, 'count(//testsuite[@name="poweroff"]/testcase/error)'), '10');

  // Nothing left: no QEMU of this run, no run folder, no temporary folder.
  assert.deepEqual(qemuPidsUnder(runtime), [], 'no qemu left behind');
  assert.deepEqual(readdirSync(runtime), [], 'no run folder left behind');
  // (tsx's and Playwright's compile caches stay, by design: they are reused by every run.)
  assert.deepEqual(readdirSync(tmp).filter((f) => !/^(playwright-transform-cache|tsx)-\d+$/.test(f)), [], 'no temporary folder left behind');

  // --resume: only the changed student is graded again; the others keep their grade (and report).
  const before = statSync(join(out, 'alice', 'index.html')).mtimeMs;
  copyFileSync(join(repo, 'labs/bridge/solution/bridge.sh'), join(subs, 'dan.sh'));
  const again = await runCli([LAB, '--submissions', subs, '--out', out, '--resume'], { env, timeoutMs: 10 * 60_000 });
  assert.equal(again.exitCode, 0, again.all);
  assert.equal(((again.all ?? '').match(/ setup \(/g) ?? []).length, 1, 'one unit ran');
  assert.equal(statSync(join(out, 'alice', 'index.html')).mtimeMs, before);
  const after = parseCsv(readFileSync(join(out, 'gradebook.csv'), 'utf8'));
  assert.deepEqual(after.map((x) => [x.student, x.score, x.status]), rows.map((x) => [x.student, x.student === 'dan' ? '15' : x.score, x.status]));
  assert.deepEqual(readdirSync(runtime), []);
});
