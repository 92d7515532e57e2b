import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DMESG_PROBLEMS, kernelInRange, kernelVersionParts, missingModulesCommand, unmetRequirement } from '../../runner/requires.ts';

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

test('the module probe only names safe module names', () => {
  assert.equal(missingModulesCommand(['vxlan', 'x;rm -rf /']), 'for m in vxlan xrm-rf; do modinfo -F filename "$m" >/dev/null 2>&1 || echo "$m"; done');
});

test('dmesg problems are recognised, ordinary lines are not', () => {
  assert.match('[   12.3] WARNING: CPU: 0 PID: 1 at net/core/dev.c:123', DMESG_PROBLEMS);
  assert.match('[   12.3] BUG: kernel NULL pointer dereference', DMESG_PROBLEMS);
  assert.doesNotMatch('[    1.0] br00: port 1(veth1) entered forwarding state', DMESG_PROBLEMS);
});
