// The bridge lab end to end on real VMs: the reference graded by a plain run (the newcomer's first
// command) with its reports and captures, `--json` on a mistake, and one `netlab-run verify` run in
// which the typical mistakes (labs/bridge/examples/) grade the exact partial scores lab.yaml declares
// with the failing checks named; one mistake's report opens in real Chromium.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { chromium } from 'playwright-core';
import { labGrader } from '../helpers/lab-grader.ts';
import { assertFullMarks, assertPartial, assertVerified, labVerifier } from '../helpers/lab-verify.ts';

const grade = await labGrader('bridge');
const MAX = 22;

test('the reference solution (seed 001 bridge.sh) grades full marks, exit 0, with reports and captures', async () => {
  const { r, out, summary } = await grade(undefined);
  assert.equal(r.exitCode, 0, r.all);
  assert.equal(summary.status, 'passed');
  assert.equal(summary.score, MAX);
  assert.equal(summary.maxScore, MAX);
  assert.match(r.stdout, /Score: 22\/22/);
  for (const f of ['index.html', 'result.json', 'staff/playwright-report/index.html', 'staff/result.json', 'captures/br00.pcap']) assert.ok(existsSync(join(out, f)), f);
  // The pcap is a real capture: tcpdump reads ARP and ICMP from it.
  const arp = await execa('tcpdump', ['-r', join(out, 'captures/br00.pcap'), '-nn', 'arp']);
  assert.ok(arp.stdout.split('\n').filter(Boolean).length >= 2);
  const result = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8'));
  assert.match(result.kernel.version, /^6\.1\./);
  assert.ok(result.collected.some((c: { command: string; stdout: string }) => c.command === 'ip_forward' && /net.ipv4.ip_forward = [01]/.test(c.stdout)));
  assert.ok(result.setup.some((c: { phase: string; stdout: string }) => c.phase === 'submission' && c.stdout.includes('[Debug] brctrl show')));
  // Captured packets are countable at once (tcpdump --immediate-mode): each capture check passed on
  // its first count, where libpcap's block delivery (up to 1 s late) made the ARP check count 0 first.
  const captureChecks = result.checks.filter((c: { capture?: string }) => c.capture);
  assert.equal(captureChecks.length, 2);
  for (const c of captureChecks) assert.deepEqual(c.commands.map((x: { attempt: number }) => x.attempt), [1], c.name);
});

test('--json on a mistake: stdout is exactly one JSON document, exit 1; progress went to stderr', async () => {
  const res = await grade('no-bridge-address.sh', ['--json']);
  assert.equal(res.r.exitCode, 1, res.r.all);
  const units = JSON.parse(res.r.stdout) as { unit: string; status: string; score: number; maxScore: number }[];
  assert.deepEqual(units.map((u) => [u.unit, u.status, u.score, u.maxScore]), [['bridge', 'failed', 20, MAX]]);
});

const mistakes: [string, number, string[]][] = [
  ['veth-down.sh', 13, ['both-host-side-veth-ends-are-up-ports-of-br00', 'br00-learned-the-mac-addresses-behind-its-ports', 'net1-reaches-net2-through-the-bridge', 'net1-resolves-10-100-0-20-with-arp-across-br00', 'net2-reaches-net1-through-the-bridge']],
  ['no-bridge-address.sh', 20, ['br00-holds-the-gateway-address-10-100-0-1-16', 'net1-reaches-its-gateway-10-100-0-1']],
  ['no-default-route.sh', 20, ['both-namespaces-route-by-default-via-10-100-0-1']],
  ['missing-namespace.sh', 7, ['both-host-side-veth-ends-are-up-ports-of-br00', 'both-namespaces-route-by-default-via-10-100-0-1', 'br00-learned-the-mac-addresses-behind-its-ports', 'lo-is-up-in-both-namespaces', 'namespaces-net1-and-net2-exist', 'net1-holds-10-100-0-10-16-and-net2-holds-10-100-0-20-16', 'net1-reaches-net2-through-the-bridge', 'net1-resolves-10-100-0-20-with-arp-across-br00', 'net2-reaches-net1-through-the-bridge']],
];

const verified = labVerifier('bridge');

test(`verify: the reference and the ${mistakes.length} examples grade as lab.yaml declares, exit 0`, async () => {
  const v = await verified();
  assertVerified(v, MAX, mistakes);
  assertFullMarks(v.example('reference'), MAX);
});

for (const [file, score, failed] of mistakes) {
  test(`a typical mistake (${file}) grades ${score}/${MAX} with the failing checks named and a hint`, async () => {
    const ex = (await verified()).example(file.replace(/\.sh$/, ''));
    assertPartial(ex, score, MAX, failed);
    assert.match(ex.terminal, /hint: /);
    if (file === 'no-default-route.sh') await checkReportInChromium(ex.dir);
  });
}

async function checkReportInChromium(out: string) {
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage();
    const requests: string[] = [];
    page.on('request', (req) => requests.push(req.url()));
    await page.goto(`file://${join(out, 'index.html')}`);
    assert.match(await page.getByTestId('score').innerText(), /20\s*\/\s*22/);
    const failed = page.locator('[data-testid="check"][data-status="failed"]');
    assert.equal(await failed.count(), 1);
    await failed.locator('summary').click();
    const text = await failed.innerText();
    assert.match(text, /Network is unreachable/);
    assert.match(text, /ip route add default via 10\.100\.0\.1/);
    assert.ok(await page.locator('[data-testid="packet-row"]').count() >= 4);
    assert.deepEqual(requests.filter((u) => !u.startsWith('file:') && !u.startsWith('data:')), []);
  } finally {
    await browser.close();
  }
}
