// The NAT lab end to end on real VMs, in one `netlab-run verify` run: a submission in three stages
// (no NAT, MASQUERADE, DNAT). The reference grades full marks with each stage's commands in the
// report; typical mistakes (labs/nat/examples/) grade the exact partial scores lab.yaml declares,
// with the failing checks named and a hint pointing at the mistake.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { assertFullMarks, assertPartial, assertVerified, labVerifier } from '../helpers/lab-verify.ts';

const LAB = 'nat';
const MAX = 21;

const mistakes: [string, number, string[], RegExp][] = [
  // No routing: nothing of the container's leaves the host, in any stage.
  ['forgot-ip-forward.sh', 9, [
    'capture-masqueraded-source', 'capture-private-source', 'capture-syn-ack-from-host', 'ip-forward', 'masquerade-ping',
    'outside-reaches-published-port',
  ], /sysctl -w net\.ipv4\.ip_forward=1/],
  // Seed 003's other network: the rule never matches 172.17.0.2, which leaks out unrewritten.
  ['wrong-masquerade-subnet.sh', 15, ['capture-masqueraded-source', 'capture-no-private-leak', 'masquerade-ping'], /-s 172\.17\.0\.0\/16 ! -o docker0 -j MASQUERADE/],
  ['forgot-dnat.sh', 17, ['capture-syn-ack-from-host', 'outside-reaches-published-port'], /-j DNAT --to-destination 172\.17\.0\.2:80/],
];

const verified = labVerifier(LAB);

test(`verify: the reference and the ${mistakes.length} examples grade as lab.yaml declares, exit 0`, async () => {
  assertVerified(await verified(), MAX, mistakes);
});

test(`the reference solution grades ${MAX}/${MAX}, its three stages in the setup, NAT visible on the wire`, async () => {
  const ref = (await verified()).example('reference');
  assertFullMarks(ref, MAX);
  const { result, dir } = ref;
  // Each stage ran once, in order, on host, and sits with the setup commands.
  const stages = result.setup.filter((c) => c.phase === 'submission').map((c) => c.command);
  assert.deepEqual(stages, ['bridge', 'masquerade', 'publish'].map((s) => `cd /root/submission && bash nat.sh ${s}`));
  // The report's setup section shows the later stages too.
  const html = readFileSync(join(dir, 'index.html'), 'utf8');
  assert.match(html, /bash nat\.sh masquerade/);
  assert.match(html, /bash nat\.sh publish/);
  // The capture on the outside tells the stages apart: first the private source, then the host's.
  // It is the wire's, recorded on the host side of the link, and the report says so; its packets
  // are the filter's (ip) only.
  const wan = result.captures.find((c) => c.name === 'wan')!;
  assert.equal(wan.side, 'host');
  assert.match(html, /data-testid="capture-host-side"/);
  assert.equal((await execa('tcpdump', ['-r', join(dir, 'captures/wan.pcap'), '-nn', 'not ip'])).stdout.trim(), '');
  const pcap = join(dir, 'captures/wan.pcap');
  const lines = (await execa('tcpdump', ['-r', pcap, '-nn', 'icmp[icmptype] == icmp-echo'])).stdout.split('\n').filter(Boolean);
  const firstPrivate = lines.findIndex((l) => / IP 172\.17\.0\.2 > 203\.0\.113\.10: ICMP echo request/.test(l));
  const firstNat = lines.findIndex((l) => / IP 203\.0\.113\.1 > 203\.0\.113\.10: ICMP echo request/.test(l));
  assert.ok(firstPrivate >= 0 && firstNat > firstPrivate, lines.join('\n'));
  assert.equal(lines.slice(firstNat).filter((l) => l.includes('172.17.0.2 >')).length, 0, 'no private source after MASQUERADE');
  // The DNAT is undone on the way back: the outside only ever talks to 203.0.113.1:8080.
  const http = (await execa('tcpdump', ['-r', pcap, '-nn', 'tcp'])).stdout;
  assert.match(http, /203\.0\.113\.1\.8080 > 203\.0\.113\.10\.\d+: Flags \[S\.\]/);
  assert.doesNotMatch(http, /172\.17\.0\.2/);
  // Seed 001's LOG trace is in the final state: the request before NAT.
  const trace = result.collected.find((c) => c.command === 'kernel log (nat-trace)')!;
  assert.match(trace.stdout, /nat-trace: IN=docker0 .*SRC=172\.17\.0\.2 DST=203\.0\.113\.10/);
});

for (const [file, score, failed, hint] of mistakes) {
  test(`a typical mistake (${file}) grades ${score}/${MAX} with the failing checks named and a hint`, async () => {
    const ex = (await verified()).example(file.replace(/\.sh$/, ''));
    assertPartial(ex, score, MAX, failed);
    assert.match(ex.terminal, hint);
  });
}
