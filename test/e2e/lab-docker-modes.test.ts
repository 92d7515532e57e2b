// The docker-modes lab end to end on real VMs: Docker itself (Debian's docker.io) runs in the VM,
// started by the machine's boot steps before its snapshot, with a busybox image imported offline. One
// `netlab-run verify` run: the reference grades full marks, each typical mistake its exact score.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { assertFullMarks, assertNotTampered, assertVerified, labVerifier, testMistakes } from '../helpers/lab-verify.ts';

const LAB = 'docker-modes';
const MAX = 19;

const mistakes: [string, number, string[], RegExp][] = [
  ['own-bridge.sh', 13, ['c-bridge-reaches-hand', 'hand-masqueraded', 'hand-reaches-c-bridge', 'hand-veth-on-docker0', 'http-crossed-docker0'], /master docker0/],
  ['random-mac.sh', 18, ['hand-like-c-bridge'], /02:42:ac:11:00:64/],
  ['none-default.sh', 18, ['c-none-lo-only'], /--network none/],
  ['host-published.sh', 17, ['c-host-host-mode'], /docker-proxy/],
  // A forgery: a container's namespace attached as "hand" (Docker's veth, address and MAC) earns nothing by hand.
  ['attach-container.sh', 7, ['c-bridge-reaches-hand', 'hand-address-and-route', 'hand-like-c-bridge', 'hand-masqueraded', 'hand-reaches-c-bridge',
    'hand-veth-on-docker0', 'http-crossed-docker0'], /ip netns exec hand ip route add default/],
];

// The first run on a machine builds the image with Docker and the snapshot with dockerd up.
const verified = labVerifier(LAB, { timeoutMs: 900_000 });

test(`verify: the reference and the ${mistakes.length} examples grade as lab.yaml declares, exit 0`, async () => {
  assertVerified(await verified(), MAX, mistakes);
});

test(`the reference (docker run in three modes, then c-bridge again by hand) grades ${MAX}/${MAX}`, async () => {
  const ref = (await verified()).example('reference');
  assertFullMarks(ref, MAX);
  assert.ok(existsSync(join(ref.dir, 'captures/docker0.pcap')));
  const stdoutOf = (id: string) => ref.result.checks.find((c) => c.id === id)!.commands.at(-1)!.stdout;
  // Docker's container and the by-hand namespace, side by side: every property the same.
  assert.match(stdoutOf('hand-like-c-bridge'), /MAC +02:42:ac:11:00:02 +02:42:ac:11:00:64/);
  assert.equal(stdoutOf('hand-like-c-bridge').split('\n').filter((l) => l.startsWith('same ')).length, 4);
  // Host mode: the container's own process is the listener, in the host's network namespace.
  assert.match(stdoutOf('c-host-host-mode'), /--network host, net namespace (net:\[\d+\]), the host's \1/);
  // The containers were kept through the quarantine (their shims), and reported as kept.
  const kept = JSON.stringify(ref.result).match(/containerd-shim-runc-v2/g) ?? [];
  assert.ok(kept.length >= 3, 'the three containers\' shims are listed as kept');
});

test('Docker\'s own processes are never taken for tampering: containers, dockerd, docker-proxy', async () => {
  assertNotTampered(await verified(), ['reference', ...mistakes.map(([f]) => f.replace(/\.sh$/, ''))]);
});

testMistakes(verified, MAX, mistakes);
