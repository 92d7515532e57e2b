import { test } from 'node:test';
import assert from 'node:assert/strict';
import { macFor, qemuArgs, type QemuMachineSpec, lockParams } from '../../vm/qemu/args.ts';
import { planLinks } from '../../vm/qemu/links.ts';

const base: QemuMachineSpec = {
  name: 'host', memoryMb: 256, cpus: 1, accel: 'tcg', kernel: '/k/vmlinuz', initrd: '/k/initrd.img',
  rootOverlay: '/run/x/host.qcow2', modulesDisk: '/k/modules.img', sshPort: 40022, nics: [],
};
const argAfter = (args: string[], flag: string) => args.filter((_, i) => args[i - 1] === flag);

test('management NIC is user networking restricted to the guest, SSH forwarded on loopback only', () => {
  const netdev = argAfter(qemuArgs(base), '-netdev');
  assert.deepEqual(netdev, ['user,id=mgmt,restrict=on,ipv6=off,hostfwd=tcp:127.0.0.1:40022-:22']);
});

test('QEMU runs under seccomp: no spawning programs, no privilege changes, no obsolete calls', () => {
  assert.deepEqual(argAfter(qemuArgs(base), '-sandbox'), ['on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny']);
  assert.deepEqual(argAfter(qemuArgs(base), '-run-with'), []);
});

test('a QEMU of a set with its own identity drops to it, after its one setuid that the filter lets through', () => {
  const args = qemuArgs({ ...base, runAs: { uid: 1900000042, gid: 1900000042 } });
  assert.deepEqual(argAfter(args, '-run-with'), ['user=1900000042:1900000042']);
  assert.deepEqual(argAfter(args, '-sandbox'), ['on,obsolete=deny,elevateprivileges=allow,spawn=deny,resourcecontrol=deny']);
});

test('a saved command line wins over the built one (restores must match the snapshot)', () => {
  const [append] = argAfter(qemuArgs({ ...base, append: 'console=ttyS0 netlab.hostname=first' }), '-append');
  assert.equal(append, 'console=ttyS0 netlab.hostname=first');
  assert.deepEqual(argAfter(qemuArgs({ ...base, incoming: 'exec:cat /s/state' }), '-incoming'), ['exec:cat /s/state']);
});

test('guest RAM in a file: shared to be saved, private (copy-on-write) to be restored', () => {
  assert.deepEqual(argAfter(qemuArgs(base), '-object'), []);
  const saved = qemuArgs({ ...base, ramFile: { path: '/run/x/host.ram', share: true } });
  assert.deepEqual(argAfter(saved, '-object'), ['memory-backend-file,id=ram,size=256M,mem-path=/run/x/host.ram,share=on']);
  assert.deepEqual(argAfter(saved, '-machine'), ['hpet=off', 'memory-backend=ram']);
  const restored = qemuArgs({ ...base, ramFile: { path: '/s/ram', share: false } });
  assert.deepEqual(argAfter(restored, '-object'), ['memory-backend-file,id=ram,size=256M,mem-path=/s/ram,share=off']);
});

test('paths with commas stay one value of their option list (QEMU reads a doubled comma as a comma)', () => {
  const odd = '/srv/a,b c=d';
  const args = qemuArgs({
    ...base, rootOverlay: `${odd}/host.qcow2`, modulesDisk: `${odd}/modules.img`, qmpSocket: `${odd}/host.qmp`,
    ramFile: { path: `${odd}/host.ram`, share: true },
    nics: [
      { link: 'lan', mac: '52:54:01:00:00:02', backend: { type: 'dgram', localPath: `${odd}/a.sock`, remotePath: `${odd}/b.sock` } },
      { link: 'wan', mac: '52:54:01:00:00:03', backend: { type: 'vde', socketDir: `${odd}/wan.vde` } },
    ],
  });
  const esc = '/srv/a,,b c=d';
  assert.deepEqual(argAfter(args, '-drive').map((d) => d.split(',if=')[0]), [`file=${esc}/host.qcow2`, `file=${esc}/modules.img`]);
  assert.deepEqual(argAfter(args, '-qmp'), [`unix:${esc}/host.qmp,server=on,wait=off`]);
  assert.deepEqual(argAfter(args, '-object'), [`memory-backend-file,id=ram,size=256M,mem-path=${esc}/host.ram,share=on`]);
  assert.deepEqual(argAfter(args, '-netdev').slice(1), [
    `dgram,id=lab0,local.type=unix,local.path=${esc}/a.sock,remote.type=unix,remote.path=${esc}/b.sock`,
    `vde,id=lab1,sock=${esc}/wan.vde`,
  ]);
});

test('TCG by default flags, KVM uses the host CPU', () => {
  assert.deepEqual(argAfter(qemuArgs(base), '-accel'), ['tcg,tb-size=128']);
  const kvm = qemuArgs({ ...base, accel: 'kvm' });
  assert.deepEqual(argAfter(kvm, '-accel'), ['kvm']);
  assert.deepEqual(argAfter(kvm, '-cpu'), ['host']);
  // No HPET either way: its 250 Hz tick woke an idle guest's QEMU 500 times a second.
  for (const a of [qemuArgs(base), kvm]) assert.deepEqual(argAfter(a, '-machine'), ['hpet=off']);
});

test('root overlay is the first virtio disk, modules disk second and read-only', () => {
  const drives = argAfter(qemuArgs(base), '-drive');
  assert.match(drives[0]!, /^file=\/run\/x\/host\.qcow2,.*format=qcow2/);
  assert.match(drives[1]!, /^file=\/k\/modules\.img,.*readonly=on/);
  const devs = argAfter(qemuArgs(base), '-device');
  assert.ok(devs.indexOf('virtio-blk-pci,drive=root,addr=0x3') < devs.indexOf('virtio-blk-pci,drive=kmods,addr=0x4'));
});

test('the kernel command line names the machine and panics off', () => {
  const [append] = argAfter(qemuArgs({ ...base, cmdline: ['netlab.x=1'] }), '-append');
  assert.equal(append, 'console=ttyS0 panic=-1 quiet init_on_free=1 tsc=reliable netlab.hostname=host netlab.x=1');
});

test('the kernel lock travels as kernel parameters: none by default, extra modules, or off', () => {
  assert.deepEqual(lockParams(undefined), []);
  assert.deepEqual(lockParams({ enabled: true, modules: [] }), []);
  assert.deepEqual(lockParams({ enabled: true, modules: ['br_netfilter', 'nbd'] }), ['netlab.modules=br_netfilter,nbd']);
  assert.deepEqual(lockParams({ enabled: false, modules: ['br_netfilter'] }), ['netlab.lock=0']);
});

test('lab NICs: dgram pairs for two machines, fixed PCI slots, MTU passed to the guest', () => {
  const plan = planLinks([{ name: 'underlay', machines: ['a', 'b'], mtu: 1450 }], '/run/x', 'lab');
  const a = plan.nics.get('a')!;
  const b = plan.nics.get('b')!;
  assert.equal(plan.switches.length, 0);
  assert.equal(a[0]!.backend.type, 'dgram');
  // Each side sends to the other's socket.
  if (a[0]!.backend.type === 'dgram' && b[0]!.backend.type === 'dgram') {
    assert.equal(a[0]!.backend.remotePath, b[0]!.backend.localPath);
    assert.equal(b[0]!.backend.remotePath, a[0]!.backend.localPath);
  }
  assert.notEqual(a[0]!.mac, b[0]!.mac);
  const args = qemuArgs({ ...base, nics: a });
  assert.ok(args.includes(`virtio-net-pci,netdev=lab0,mac=${a[0]!.mac},addr=0x5,host_mtu=1450`));
  assert.ok(argAfter(args, '-netdev').some((n) => n.startsWith('dgram,id=lab0,local.type=unix,local.path=/run/x/')));
});

test('three machines on one segment share a vde switch; NIC order follows link order', () => {
  const plan = planLinks([
    { name: 'lan', machines: ['a', 'b', 'c'] },
    { name: 'p2p', machines: ['a', 'c'] },
  ], '/run/x', 'lab');
  assert.equal(plan.switches.length, 1);
  assert.deepEqual(plan.nics.get('a')!.map((n) => n.link), ['lan', 'p2p']);
  assert.deepEqual(plan.nics.get('b')!.map((n) => n.backend.type), ['vde']);
});

test('MACs are locally administered unicast and stable', () => {
  const m = macFor('lab/link/a');
  assert.match(m, /^52:54:01(:[0-9a-f]{2}){3}$/);
  assert.equal(m, macFor('lab/link/a'));
  assert.notEqual(m, macFor('lab/link/b'));
});
