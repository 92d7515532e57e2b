// The host-none lab end to end on real VMs, in one `netlab-run verify` run: the reference grades full
// marks, typical mistakes (labs/host-none/examples/) grade the exact partial scores lab.yaml declares,
// with the failing checks named and a hint pointing at the mistake.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { assertFullMarks, assertVerified, labVerifier, testMistakes } from '../helpers/lab-verify.ts';

const LAB = 'host-none';
const MAX = 21;

const mistakes: [string, number, string[], RegExp][] = [
  // The "host-mode" server in a namespace of its own: the host's 8080 stays free and unreachable.
  ['host-in-netns.sh', 14, [
    'c-bridge-reaches-the-host-mode-container-at-172-17-0-1-8080', 'http-answer-crossed-docker0',
    'port-8080-is-taken-on-the-host-a-second-bind-fails', 'the-host-reaches-the-host-mode-container-at-127-0-0-1-8080',
    'the-server-on-port-8080-shares-the-host-s-network-namespace',
  ], /without `ip netns exec`/],
  ['none-lo-down.sh', 19, ['c-none-serves-and-reaches-127-0-0-1-8080-on-its-own-loopback', 'lo-is-up-in-c-none'], /ip netns exec c-none ip link set lo up/],
  ['no-masquerade.sh', 19, ['c-bridge-masqueraded'], /-j MASQUERADE/],
];

const verified = labVerifier(LAB);

test(`verify: the reference and the ${mistakes.length} examples grade as lab.yaml declares, exit 0`, async () => {
  assertVerified(await verified(), MAX, mistakes);
});

test(`the reference solution (host, none and bridge modes) grades ${MAX}/${MAX}, with the docker0 capture`, async () => {
  const ref = (await verified()).example('reference');
  assertFullMarks(ref, MAX);
  assert.ok(existsSync(join(ref.dir, 'captures/docker0.pcap')));
  const stdoutOf = (id: string) => ref.result.checks.find((c) => c.id === id)!.commands.at(-1)!.stdout;
  // Host mode: the listener's network namespace is PID 1's, though its PID namespace is its own.
  const ns = /its network namespace: (net:\[\d+\])[\s\S]*the host's \(PID 1\): +(net:\[\d+\])/.exec(stdoutOf('the-server-on-port-8080-shares-the-host-s-network-namespace'));
  assert.ok(ns);
  assert.equal(ns[1], ns[2]);
  // Bridge mode: what arrives outside carries the host's address, not the container's.
  assert.match(stdoutOf('c-bridge-masqueraded'), /IP 198\.51\.100\.1 > 198\.51\.100\.2: ICMP echo request/);
});

testMistakes(verified, MAX, mistakes);
