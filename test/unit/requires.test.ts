import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { kernelModules, moduleNames, normalModule } from '../../vm/build/kernel-modules.ts';
import { DMESG_PROBLEMS, kernelInRange, kernelVersionParts, unmetRequirement } from '../../runner/lab/requires.ts';

test('kernel versions come from uname -r prefixes', () => {
  assert.deepEqual(kernelVersionParts('6.1.0-50-cloud-amd64'), [6, 1, 0]);
  assert.deepEqual(kernelVersionParts('7.2.13+deb14-cloud-amd64'), [7, 2, 13]);
  assert.deepEqual(kernelVersionParts('5.10.0-32-amd64'), [5, 10, 0]);
});

test('ranges: every clause must hold', () => {
  assert.equal(kernelInRange('5.10.0-32-cloud-amd64', '>=5.15'), false);
  assert.equal(kernelInRange('6.1.0-50-cloud-amd64', '>=5.15'), true);
  assert.equal(kernelInRange('6.12.117+deb13-cloud-amd64', '>=5.10 <6.2'), false);
  assert.equal(kernelInRange('6.1.0-50-cloud-amd64', '>=5.10 <6.2'), true);
  assert.equal(kernelInRange('6.1.0', '=6.1'), true);
  assert.equal(kernelInRange('6.1.5', '>6.1'), true);
  assert.equal(kernelInRange('6.1.0', '<=6.0'), false);
});

test('an unmet requirement says why; met ones say nothing', () => {
  assert.equal(unmetRequirement(undefined, '6.1.0', []), undefined);
  assert.equal(unmetRequirement({ kernel: '>=5.15' }, '5.10.0-32-amd64', []), 'needs kernel >=5.15; this is 5.10.0-32-amd64');
  assert.equal(unmetRequirement({ modules: ['vxlan', 'wireguard'] }, '5.4.0', ['wireguard']), 'needs kernel module wireguard, absent from 5.4.0');
  assert.equal(unmetRequirement({ kernel: '>=5.4', modules: ['vxlan'] }, '6.1.0', []), undefined);
});

test('a kernel\'s modules are read on the host from its modules disk, never asked of the guest', async () => {
  assert.deepEqual([...moduleNames('kernel/drivers/net/vxlan/vxlan.ko.xz: kernel/net/ipv4/udp_tunnel.ko.xz\nkernel/net/bridge/br_netfilter.ko:\nkernel/fs/binfmt_script.ko\n')],
    ['vxlan', 'br_netfilter', 'binfmt_script']);
  const dir = await mkdtemp(join(tmpdir(), 'netlab-kmods-'));
  try {
    await mkdir(join(dir, 'tree', '6.1.0-test'), { recursive: true });
    await writeFile(join(dir, 'tree', '6.1.0-test', 'modules.dep'), 'kernel/drivers/net/vxlan/vxlan.ko.xz: kernel/net/ipv4/udp_tunnel.ko.xz\nkernel/drivers/net/macvlan.ko.xz:\n');
    await writeFile(join(dir, 'tree', '6.1.0-test', 'modules.builtin'), 'kernel/net/bridge/bridge.ko\nkernel/drivers/net/veth-test.ko\n');
    await execa('mkfs.ext4', ['-q', '-F', '-d', join(dir, 'tree'), join(dir, 'modules.img'), '4M']);
    const has = await kernelModules(join(dir, 'modules.img'), '6.1.0-test');
    for (const m of ['vxlan', 'macvlan', 'bridge', 'veth_test', normalModule('veth-test')]) assert.ok(has.has(m), m);
    assert.ok(!has.has('wireguard'));
    await assert.rejects(kernelModules(join(dir, 'modules.img'), '9.9.9'), /debugfs could not read \/9\.9\.9\/modules\.dep/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('dmesg problems are recognised, ordinary lines are not', () => {
  assert.match('[   12.3] WARNING: CPU: 0 PID: 1 at net/core/dev.c:123', DMESG_PROBLEMS);
  assert.match('[   12.3] BUG: kernel NULL pointer dereference', DMESG_PROBLEMS);
  assert.doesNotMatch('[    1.0] br00: port 1(veth1) entered forwarding state', DMESG_PROBLEMS);
});
