// The overlay lab end to end on real VMs, in one `netlab-run verify` run: one script run on two hosts
// in two stages (`up`, `join`), with etcd on node1 as the cluster store. The reference grades full
// marks with VXLAN (VNI 256, UDP 4789) on the underlay; typical mistakes (labs/overlay/examples/)
// grade the exact partial scores lab.yaml declares, with the failing checks named.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { execa } from 'execa';
import { assertFullMarks, assertPartial, assertVerified, labVerifier } from '../helpers/lab-verify.ts';

const LAB = 'overlay';
const MAX = 21;

const mistakes: [string, number, string[], RegExp][] = [
  // node2 is on VNI 257: each side drops the other's frames.
  ['wrong-vni.sh', 12, ['capture-vni', 'node2-vxlan', 'ping-1450', 'ping-2000', 'ping-node1-node2', 'ping-node2-node1'], /same VNI \(256\)/],
  // Small packets pass; everything between 1451 and 1500 bytes is lost at vxlan256.
  ['mtu-1500.sh', 17, ['node1-mtu', 'node2-mtu', 'ping-1451-refused', 'ping-2000'], /mtu 1450/],
  // Membership in etcd but no forwarding from it: nothing is ever encapsulated.
  ['no-fdb.sh', 9, ['capture-vni', 'capture-vxlan', 'node1-fdb', 'node2-fdb', 'ping-1450', 'ping-2000', 'ping-node1-node2', 'ping-node2-node1'], /bridge fdb append 00:00:00:00:00:00 dev vxlan256/],
];

const verified = labVerifier(LAB);

test(`verify: the reference and the ${mistakes.length} examples grade as lab.yaml declares, exit 0`, async () => {
  assertVerified(await verified(), MAX, mistakes);
});

test(`the reference solution grades ${MAX}/${MAX}: each stage ran on both hosts, VXLAN on the underlay`, async () => {
  const ref = (await verified()).example('reference');
  assertFullMarks(ref, MAX);
  const { result, dir } = ref;
  // One script, two stages, each on node1 then node2.
  const runs = result.setup.filter((c) => c.phase === 'submission').map((c) => `${c.machine}: ${c.command.replace('cd /root/submission && ', '')}`);
  assert.deepEqual(runs, ['node1: bash overlay.sh up', 'node2: bash overlay.sh up', 'node1: bash overlay.sh join', 'node2: bash overlay.sh join']);
  // The membership the hosts wrote is in etcd at the end.
  const etcd = result.collected.find((c) => c.command === 'etcd membership')!;
  assert.match(etcd.stdout, /\/overlay\/vxlan256\/hosts\/192\.168\.56\.12\n10\.0\.0\.3 02:42:0a:00:00:03/);
  // The underlay capture holds real VXLAN: VNI 256 on UDP 4789, carrying the containers' ICMP.
  const vxlan = (await execa('tcpdump', ['-r', join(dir, 'captures/underlay.pcap'), '-nn'])).stdout;
  assert.match(vxlan, /192\.168\.56\.11\.\d+ > 192\.168\.56\.12\.4789: VXLAN, flags \[I\] \(0x08\), vni 256\nIP 10\.0\.0\.2 > 10\.0\.0\.3: ICMP echo request/);
  assert.match(vxlan, /192\.168\.56\.12\.\d+ > 192\.168\.56\.11\.4789: VXLAN, flags \[I\] \(0x08\), vni 256\nIP 10\.0\.0\.3 > 10\.0\.0\.2: ICMP echo reply/);
});

for (const [file, score, failed, hint] of mistakes) {
  test(`a typical mistake (${file}) grades ${score}/${MAX} with the failing checks named and a hint`, async () => {
    const ex = (await verified()).example(file.replace(/\.sh$/, ''));
    assertPartial(ex, score, MAX, failed);
    assert.match(ex.terminal, hint);
  });
}
