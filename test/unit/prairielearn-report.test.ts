// PrairieLearn's results.json (`--format prairielearn`), checked field by field against what its
// external-grading docs specify: score in [0, 1], gradable, message, output, tests with name, points,
// max_points, message, output; nothing of hidden checks (PrairieLearn shows every test to the
// student); and never more than its 1 MiB, however much the submission printed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sampleResult } from '../../reports/fixtures/sample-result.ts';
import type { CheckResult, RunResult } from '../../reports/model.ts';
import { fitToSize, PRAIRIELEARN_FILE, PRAIRIELEARN_MAX_BYTES, toPrairieLearn, writePrairieLearn } from '../../reports/prairielearn.ts';
import { PRAIRIELEARN_LIMIT, PrairieLearnResults } from '../helpers/prairielearn.ts';

/** Strings only the hidden check of the sample carries. */
const SECRETS = ['VXLAN underlay', 'mtu-secret', '/sys/class/net/br0/mtu', 'mtu 1450'];

const size = (o: unknown) => Buffer.byteLength(JSON.stringify(o, null, 2) + '\n');

function valid(o: unknown): void {
  const parsed = PrairieLearnResults.safeParse(JSON.parse(JSON.stringify(o)));
  assert.ok(parsed.success, JSON.stringify(!parsed.success && parsed.error.issues));
}

test('PrairieLearn results.json: score 0-1, gradable, message, output, one test per check', () => {
  const r = sampleResult();
  r.checks[0]!.group = 'bridge';
  r.groups = [{ name: 'bridge', cap: 3, points: 2, maxPoints: 2 }];
  const pl = toPrairieLearn(r);
  valid(pl);
  assert.equal(pl.gradable, true);
  assert.equal(pl.score, 0.8, '8 of 10 points');
  assert.match(pl.message, /^Linux bridge between two namespaces \(bridge\) on debian-6\.1 6\.1\.0-28-amd64\nScore: 8\/10/);
  assert.match(pl.output, /^\[alpha\]\$ sh -ex \/submission\/solution\.sh\n\[stderr\]\n\+ ip link add br0 type bridge/, 'what the student\'s script printed');
  assert.doesNotMatch(pl.output, /ip netns add ns1/, 'not the lab\'s own setup');
  assert.deepEqual(pl.tests.map((t) => [t.name, t.points, t.max_points]), [
    ['br0 exists and is up', 2, 2],
    ['Both veth ends are ports of br0', 2, 2],
    ['ns1 reaches ns2 through the bridge', 0, 2],
    ['ARP requests cross br0', 2, 2],
    ['Hidden check', 2, 2],
    ['STP stays off', 0, 0],
  ]);
  assert.equal(pl.tests[0]!.description, 'counts toward group bridge (its checks count at most 3 points together)');
  assert.equal(pl.tests[1]!.message, 'Nice: both ports are forwarding.');
  const failed = pl.tests[2]!;
  assert.equal(failed.message, 'Traffic must cross br0 and be answered in ns2.\nHint: ARP is answered but pings are not: does ns2 ignore ICMP echo? Look at `sysctl net.ipv4.icmp_echo_ignore_all` in ns2.');
  assert.match(failed.output, /^Expected: exit code 0 \(ping answered\)\nGot: exit code 1 after 3 attempts \(100% packet loss\)\n\n\[alpha\]\$ ip netns exec ns2 sysctl -a --pattern icmp\nnet\.ipv4/);
  assert.deepEqual([pl.tests[4]!.message, pl.tests[4]!.output], ['Passed', ''], 'a hidden check: its status and points only');
  assert.equal(pl.tests[5]!.message.split('\n')[0], 'Skipped');
  const text = JSON.stringify(pl);
  for (const s of SECRETS) assert.ok(!text.includes(s), `${s} reached the student`);
});

test('PrairieLearn: an infrastructure failure is not gradable (no attempt lost), and says so', () => {
  const broken: RunResult = { ...sampleResult(), status: 'error', error: 'host: guest not ready after 90 s', score: 0 };
  const pl = toPrairieLearn(broken);
  valid(pl);
  assert.deepEqual([pl.gradable, pl.score], [false, 0]);
  assert.match(pl.message, /could not finish running your submission \(host: guest not ready after 90 s\)/);
  const crashed = { ...sampleResult(), submissionRun: { status: 'crashed' as const, detail: '[host] the guest powered off' } };
  assert.match(toPrairieLearn(crashed).message, /Your submission crashed: \[host\] the guest powered off/);
  assert.equal(toPrairieLearn({ ...sampleResult(), maxScore: 0, score: 0 }).score, 0, 'a lab worth nothing scores 0, not NaN');
});

/** A check whose last command printed `out`, with a long feedback. */
function noisyCheck(i: number, out: string): CheckResult {
  return {
    id: `c${i}`, name: `check ${i}`, status: 'failed', points: 0, maxPoints: 1, visibility: 'visible',
    expected: 'exit code 0', got: 'exit code 1', feedback: `feedback ${i} `.repeat(200), hint: 'look at the routes', durationMs: 5,
    commands: [{ phase: 'check', machine: 'host', command: 'cat /dev/urandom | base64', exitCode: 1, stdout: out, stderr: '', durationMs: 5, timedOut: false, truncated: true }],
  };
}

test('PrairieLearn: huge outputs are cut to fit 1 MB (bytes, not characters), the JSON stays valid, every verdict kept', () => {
  const r = sampleResult();
  r.setup[2]!.stderr = '€'.repeat(3 << 20); // 9 MB of three-byte characters from the student's script
  r.checks = Array.from({ length: 400 }, (_, i) => noisyCheck(i, 'é€'.repeat(200_000)));
  r.maxScore = 400;
  r.score = 0;
  const pl = toPrairieLearn(r);
  const bytes = size(pl);
  assert.ok(bytes <= PRAIRIELEARN_MAX_BYTES && bytes < PRAIRIELEARN_LIMIT, `${bytes} bytes`);
  assert.ok(bytes > 0.9 * PRAIRIELEARN_MAX_BYTES, `cut no more than needed (${bytes} bytes)`);
  valid(JSON.parse(JSON.stringify(pl, null, 2)));
  assert.equal(pl.tests.length, 400, 'no test dropped');
  for (const t of pl.tests) {
    assert.match(t.message, /^feedback \d+ /);
    assert.match(t.output, /more characters cut: PrairieLearn takes at most 1 MB/);
  }
  assert.match(pl.output, /^\[alpha\]\$ sh -ex/);
  // Unchanged when it fits already.
  const small = toPrairieLearn(sampleResult());
  assert.deepEqual(fitToSize(small), small);
});

test('PrairieLearn: thousands of checks with long names: as many tests as fit, the rest counted in the message', () => {
  const r = sampleResult();
  r.checks = Array.from({ length: 6000 }, (_, i) => ({ ...noisyCheck(i, 'x'), name: `${'a very long check name '.repeat(20)}${i}`, feedback: undefined }));
  const pl = toPrairieLearn(r);
  assert.ok(size(pl) <= PRAIRIELEARN_MAX_BYTES, `${size(pl)} bytes`);
  valid(pl);
  assert.ok(pl.tests.length > 100 && pl.tests.length < 6000, `${pl.tests.length} tests`);
  assert.match(pl.message, new RegExp(`\\n${6000 - pl.tests.length} more checks are not listed`));
  assert.equal(pl.tests.at(-1)!.name.endsWith(String(pl.tests.length - 1)), true, 'the first ones, in order');
});

test('the PrairieLearn validator itself rejects what the docs do not allow', () => {
  const ok = JSON.parse(JSON.stringify(toPrairieLearn(sampleResult())));
  assert.ok(PrairieLearnResults.safeParse(ok).success);
  assert.ok(!PrairieLearnResults.safeParse({ ...ok, score: 8 }).success, 'a score of points, not a fraction');
  assert.ok(!PrairieLearnResults.safeParse({ ...ok, grade: 1 }).success);
  assert.ok(!PrairieLearnResults.safeParse({ tests: [] }).success, 'gradable without a score');
  assert.ok(PrairieLearnResults.safeParse({ gradable: false, format_errors: ['Submit bridge.sh'] }).success);
  assert.ok(!PrairieLearnResults.safeParse({ ...ok, tests: [{ ...ok.tests[0], maxPoints: 2 }] }).success, 'Gradescope/netlab spelling');
  assert.ok(!PrairieLearnResults.safeParse({ ...ok, tests: [{ ...ok.tests[0], points: 3, max_points: 2 }] }).success);
});

test('writePrairieLearn writes prairielearn/results.json under the staff folder', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'netlab-pl-'));
  try {
    const file = await writePrairieLearn(sampleResult(), dir);
    assert.equal(file, join(dir, PRAIRIELEARN_FILE));
    assert.equal(PRAIRIELEARN_FILE, join('prairielearn', 'results.json'));
    valid(JSON.parse(await readFile(file, 'utf8')));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
