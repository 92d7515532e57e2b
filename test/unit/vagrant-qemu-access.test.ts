// What libvirt's unprivileged QEMU needs under the Vagrant backend (vm/vagrant/qemu-access.ts): the
// account's ids, and each kernel's files inside the run folder (copies of what libvirt relabels, a
// link to the big read-only modules disk).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InfraError } from '../../vm/errors.ts';
import type { KernelInfo } from '../../vm/types.ts';
import { libvirtQemuIdentity, stageBootFiles } from '../../vm/vagrant/qemu-access.ts';

test('libvirt-qemu\'s ids come from /etc/passwd; without the account, the fix is the setup script', () => {
  assert.deepEqual(libvirtQemuIdentity('root:x:0:0::/root:/bin/bash\nlibvirt-qemu:x:64055:108::/var/lib/libvirt:/usr/sbin/nologin\n'), { uid: 64055, gid: 108 });
  assert.throws(() => libvirtQemuIdentity('root:x:0:0::/root:/bin/bash\n'), (e: unknown) => e instanceof InfraError && /setup-vagrant\.sh/.test(e.fix ?? ''));
});

test('boot files: one copy of each distinct kernel and initrd, the modules disk linked, never the cache itself', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'netlab-boot-'));
  try {
    const kernel = (n: string): KernelInfo => ({ kernel: join(dir, `vmlinuz-${n}`), initrd: join(dir, `initrd-${n}`), modulesDisk: join(dir, `modules-${n}.img`) } as KernelInfo);
    const [a, b] = [kernel('a'), kernel('b')];
    for (const k of [a, b]) for (const f of [k.kernel, k.initrd, k.modulesDisk]) await writeFile(f, f);
    const run = join(dir, 'run');
    const staged = await stageBootFiles(run, [a, b, a]);
    assert.equal(staged.size, 2);
    const sa = staged.get(a.kernel)!;
    assert.ok(sa.kernel.startsWith(join(run, 'boot')) && sa.modulesDisk.startsWith(join(run, 'boot')));
    assert.notEqual((await stat(sa.kernel)).ino, (await stat(a.kernel)).ino, 'the kernel is a copy');
    assert.notEqual((await stat(sa.initrd)).ino, (await stat(a.initrd)).ino, 'the initrd is a copy');
    assert.equal((await stat(sa.modulesDisk)).ino, (await stat(a.modulesDisk)).ino, 'the modules disk is a link');
    assert.notEqual(staged.get(b.kernel)!.kernel, sa.kernel);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
