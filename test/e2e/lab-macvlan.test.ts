// The macvlan lab end to end (two VMs on one link) on real VMs: the reference grades full marks, typical mistakes grade the
// exact partial scores with the failing checks named and a hint pointing at the mistake.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertFullMarks, assertPartial, labGrader } from '../helpers/lab-grader.ts';

const LAB = 'macvlan';
const MAX = 19;

const grade = await labGrader(LAB);

test(`the reference solution (bridge-mode macvlans, host shim) grades ${MAX}/${MAX}, exit 0, with peer's capture`, async () => {
  const graded = await grade(undefined);
  assertFullMarks(graded, MAX);
  const { out } = graded;
  assert.ok(existsSync(join(out, 'captures/lan.pcap')));
  const result = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8'));
  const check = (id: string) => result.checks.find((c: { id: string }) => c.id === id);
  // The isolation check passes because its ping fails: exit code 1, no reply.
  const isolation = check('host-cannot-reach-c1-through-eth1');
  assert.equal(isolation.status, 'passed');
  assert.equal(isolation.commands.at(-1).exitCode, 1);
  assert.match(isolation.commands.at(-1).stdout, /0 received/);
  // peer knows three different MACs for the host, c1 and c2.
  const macs = [...(check('peer-sees-three-different-macs-for-the-host-c1-and-c2').commands.at(-1).stdout as string)
    .matchAll(/is at ([0-9a-f:]{17})/g)].map((m) => m[1]);
  assert.equal(macs.length, 3);
  assert.equal(new Set(macs).size, 3);
  // The capture on peer shows c1 and c2 each answering from its own MAC.
  const lan = result.captures.find((c: { name: string }) => c.name === 'lan');
  const replies = (ip: string) => new Set(lan.packets.filter((p: { summary: string }) => p.summary.includes(`${ip} > 172.16.86.3: ICMP echo reply`))
    .map((p: { summary: string }) => p.summary.slice(0, 17)));
  assert.deepEqual([...replies('172.16.86.10')], [macs[1]]);
  assert.deepEqual([...replies('172.16.86.11')], [macs[2]]);
});

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

for (const [file, score, failed, hint] of mistakes) {
  test(`a typical mistake (${file}) grades ${score}/${MAX} with exit 1 and the failing checks named`, async () => {
    const res = await grade(file);
    assertPartial(res, score, MAX, failed);
    assert.match(res.r.stdout, /hint: /);
    assert.match(res.r.stdout, hint);
  });
}
