// The veth lab end to end on real VMs, in one `netlab-run verify` run: the reference grades full
// marks, typical mistakes (labs/veth/examples/) grade the exact partial scores lab.yaml declares,
// with the failing checks named and a hint pointing at the mistake.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertFullMarks, assertVerified, labVerifier, testMistakes } from '../helpers/lab-verify.ts';

const LAB = 'veth';
const MAX = 17;

const mistakes: [string, number, string[], RegExp][] = [
  // The seed's commands verbatim: everything works except 127.0.0.1 inside the namespaces.
  ['no-lo.sh', 16, ['lo-is-up-in-both-namespaces'], /ip link set lo up/],
  ['wrong-prefix.sh', 16, ['both-addresses-are-24-10-1-2-1-is-not-on-link'], /prefix length \/24/],
  ['peer-down.sh', 8, [
    'both-ends-of-the-pair-are-up', 'ns1-reaches-ns2-over-the-veth-pair', 'ns1-resolves-10-1-1-3-with-arp-over-the-pair',
    'ns2-reaches-ns1-over-the-veth-pair', 'veth222-receives-veth111-frames',
  ], /ip netns exec ns2 ip link set veth222 up/],
];

const verified = labVerifier(LAB);

test(`verify: the reference and the ${mistakes.length} examples grade as lab.yaml declares, exit 0`, async () => {
  assertVerified(await verified(), MAX, mistakes);
});

test(`the reference solution (seed 001's veth pair, lo up) grades ${MAX}/${MAX}`, async () => {
  const ref = (await verified()).example('reference');
  assertFullMarks(ref, MAX);
  // The peer check prints both ends' indexes: veth111@if<veth222's index> and back.
  const pair = ref.result.checks.find((c) => c.id === 'one-pair-veth111-ifn-is-veth222')!;
  const m = /ns1: (\d+): veth111@if(\d+):[\s\S]*ns2: (\d+): veth222@if(\d+):/.exec(pair.commands.at(-1)!.stdout);
  assert.ok(m, pair.commands.at(-1)!.stdout);
  assert.equal(m[2], m[3]);
  assert.equal(m[4], m[1]);
  // The in-namespace capture saw ICMP echo requests from 10.1.1.2.
  const cap = ref.result.checks.find((c) => c.id === 'veth222-receives-veth111-frames')!;
  assert.match(cap.commands.at(-1)!.stdout, /10\.1\.1\.2 > 10\.1\.1\.3: ICMP echo request/);
});

testMistakes(verified, MAX, mistakes);
