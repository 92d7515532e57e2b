// The macvlan lab end to end (two VMs on one link) on real VMs, in one `netlab-run verify` run: the
// reference grades full marks, typical mistakes (labs/macvlan/examples/) grade the exact partial
// scores lab.yaml declares, with the failing checks named and a hint pointing at the mistake.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { assertFullMarks, assertVerified, labVerifier, testMistakes } from '../helpers/lab-verify.ts';

const LAB = 'macvlan';
const MAX = 19;

const mistakes: [string, number, string[], RegExp][] = [
  // Private mode: peer still reaches both, but the children (mv-host included) never meet.
  ['private-mode.sh', 14, ['bonus-host-reaches-containers-via-own-macvlan', 'c1-reaches-c2-through-eth1-s-macvlan-bridge', 'macvlans-on-eth1-bridge-mode'], /in private mode/],
  ['mv2-down.sh', 11, [
    'bonus-host-reaches-containers-via-own-macvlan', 'c1-reaches-c2-through-eth1-s-macvlan-bridge', 'c2-s-echo-replies-reached-peer-on-the-wire',
    'mv1-and-mv2-are-up', 'peer-reaches-c2-at-172-16-86-11-across-the-lan', 'peer-sees-three-different-macs-for-the-host-c1-and-c2',
  ], /ip netns exec c2 ip link set mv2 up/],
  // Correct containers, no macvlan for the host: only the bonus is missing.
  ['no-host-shim.sh', 18, ['bonus-host-reaches-containers-via-own-macvlan'], /ip link add mv-host link eth1 type macvlan mode bridge/],
];

const verified = labVerifier(LAB);

test(`verify: the reference and the ${mistakes.length} examples grade as lab.yaml declares, exit 0`, async () => {
  assertVerified(await verified(), MAX, mistakes);
});

test(`the reference solution (bridge-mode macvlans, host shim) grades ${MAX}/${MAX}, with peer's capture`, async () => {
  const ref = (await verified()).example('reference');
  assertFullMarks(ref, MAX);
  assert.ok(existsSync(join(ref.dir, 'captures/lan.pcap')));
  const check = (id: string) => ref.result.checks.find((c) => c.id === id)!;
  // The isolation check passes because its ping fails: exit code 1, no reply.
  const isolation = check('host-cannot-reach-c1-through-eth1');
  assert.equal(isolation.status, 'passed');
  assert.equal(isolation.commands.at(-1)!.exitCode, 1);
  assert.match(isolation.commands.at(-1)!.stdout, /0 received/);
  // peer knows three different MACs for the host, c1 and c2.
  const macs = [...check('peer-sees-three-different-macs-for-the-host-c1-and-c2').commands.at(-1)!.stdout
    .matchAll(/is at ([0-9a-f:]{17})/g)].map((m) => m[1]);
  assert.equal(macs.length, 3);
  assert.equal(new Set(macs).size, 3);
  // The capture on peer shows c1 and c2 each answering from its own MAC.
  const lan = ref.result.captures.find((c) => c.name === 'lan')!;
  const replies = (ip: string) => new Set(lan.packets.filter((p) => p.summary.includes(`${ip} > 172.16.86.3: ICMP echo reply`)).map((p) => p.summary.slice(0, 17)));
  assert.deepEqual([...replies('172.16.86.10')], [macs[1]]);
  assert.deepEqual([...replies('172.16.86.11')], [macs[2]]);
});

testMistakes(verified, MAX, mistakes);
