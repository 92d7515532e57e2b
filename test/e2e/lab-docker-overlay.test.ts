// The docker-overlay lab end to end on real VMs: seed 003's multi-host experiment with Docker itself
// (docker.io 20.10 on an etcd v2 cluster store) on two `docker: true` machines. One `netlab-run
// verify` run: the reference grades full marks, each typical mistake its exact score.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { assertFullMarks, assertNotTampered, assertVerified, labVerifier, testMistakes } from '../helpers/lab-verify.ts';

const LAB = 'docker-overlay';
const MAX = 17;

const mistakes: [string, number, string[], RegExp][] = [
  ['etcd-v3-only.sh', 1, ['containers-http', 'containers-ping', 'etcd-holds-net1', 'node2-sees-net1', 'over-node1-nics', 'over-node2-nics', 'vxlan-full-size', 'vxlan-on-underlay'], /--enable-v2/],
  ['node2-own-network.sh', 5, ['containers-http', 'containers-ping', 'node2-sees-net1', 'over-node2-nics', 'vxlan-full-size', 'vxlan-on-underlay'], /net1 must come from the store/],
];

// The first run on a machine builds the image with Docker and the snapshot with dockerd up.
const verified = labVerifier(LAB, { timeoutMs: 900_000 });

test(`verify: the reference and the ${mistakes.length} examples grade as lab.yaml declares, exit 0`, async () => {
  assertVerified(await verified(), MAX, mistakes);
});

test(`the reference (etcd v2, both dockerds on the store, net1, a container per node) grades ${MAX}/${MAX}`, async () => {
  const ref = (await verified()).example('reference');
  assertFullMarks(ref, MAX);
  assert.ok(existsSync(join(ref.dir, 'captures/underlay.pcap')));
  const stdoutOf = (id: string) => ref.result.checks.find((c) => c.id === id)!.commands.at(-1)!.stdout;
  // node2 never created net1: it came from node1 through the store.
  assert.match(stdoutOf('node2-sees-net1'), /net1 overlay global/);
  assert.match(stdoutOf('over-node2-nics'), /mtu 1450/);
  // The daemons the student restarted, the store and the containers were kept for the checks: among
  // them `dockerd --cluster-store=etcd://...`, whose command line also contains the kept "etcd".
  const kept = ref.result.submissionRun?.detail ?? '';
  for (const p of [/\d+ etcd --name node1/, /\d+ dockerd --containerd=\S+ --cluster-store=etcd:/, /containerd-shim-runc-v2/]) assert.match(kept, p);
});

test('the daemons, the store and the containers are never taken for tampering', async () => {
  assertNotTampered(await verified(), ['reference', ...mistakes.map(([f]) => f.replace(/\.sh$/, ''))]);
});

testMistakes(verified, MAX, mistakes);
