// `docker: true` on a machine stands for the plain fields every Docker lab needs: the machine's
// packages and boot steps, the lock's overlay module, the containers and docker-proxy kept. Other
// machines and labs without it are unchanged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkLab } from '../../runner/lab/schema.ts';
import { bootStepPlace, DOCKER_BOOT_STEPS } from '../../runner/lab/docker-machine.ts';

const lab = (machines: Record<string, unknown>, extra: Record<string, unknown> = {}) => {
  const r = checkLab({ name: 'l', title: 'L', machines, checks: [{ name: 'c', on: 'host', run: 'true' }], ...extra });
  assert.ok(r.ok, JSON.stringify(!r.ok && r.issues));
  return r.lab;
};

test('docker: true adds docker.io and apparmor, dockerd and the busybox image before the machine\'s own boot steps', () => {
  const l = lab({
    host: { docker: true, packages: ['jq', 'apparmor'], boot: [{ name: 'etcd', run: 'etcd &' }] },
    outside: null,
  }, { lock: { modules: ['br_netfilter'] }, submission: { file: 's.sh', run: 'bash s.sh', on: 'host', keep: ['busybox httpd'] } });
  assert.deepEqual(l.machines.host!.packages, ['jq', 'apparmor', 'docker.io']);
  assert.deepEqual(l.machines.host!.boot.map((b) => b.name), ['dockerd', 'busybox image', 'etcd']);
  assert.match(l.machines.host!.boot[0]!.run, /setsid -f dockerd/);
  assert.match(l.machines.host!.boot[1]!.run, /docker import .* busybox:latest/);
  assert.deepEqual(l.machines.outside!.packages, []);
  assert.deepEqual(l.machines.outside!.boot, []);
  assert.deepEqual(l.lock.modules, ['br_netfilter', 'overlay']);
  assert.deepEqual(l.submission!.keep, ['busybox httpd', 'containerd-shim-runc-v2', 'docker-proxy']);
});

test('a lab without docker: true is as written', () => {
  const l = lab({ host: { packages: ['jq'] } }, { submission: { file: 's.sh', run: 'bash s.sh', on: 'host' } });
  assert.deepEqual([l.machines.host!.packages, l.machines.host!.boot, l.lock.modules, l.submission!.keep], [['jq'], [], [], []]);
  assert.equal(l.machines.host!.docker, false);
});

test('a failing boot step is placed where the lab has it: docker: true, or the machine\'s own boot list', () => {
  assert.equal(bootStepPlace('host', true, 0), 'lab.yaml machines.host.docker (Docker\'s boot steps)');
  assert.equal(bootStepPlace('host', true, DOCKER_BOOT_STEPS.length), 'lab.yaml machines.host.boot[0]');
  assert.equal(bootStepPlace('node1', false, 1), 'lab.yaml machines.node1.boot[1]');
});

test('docker must be true or false', () => {
  const r = checkLab({ name: 'l', title: 'L', machines: { host: { docker: 'yes' } }, checks: [{ name: 'c', on: 'host', run: 'true' }] });
  assert.ok(!r.ok);
  assert.match(JSON.stringify(r.issues), /machines.*host.*docker/);
});
