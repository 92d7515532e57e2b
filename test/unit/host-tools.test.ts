import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InfraError } from '../../vm/errors.ts';
import { findTool, installCommand, packagesFor, requireTools, searchDirs } from '../../vm/build/host-tools.ts';

async function fakeBin(names: string[]): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'netlab-bin-'));
  for (const n of names) {
    await writeFile(join(dir, n), '#!/bin/sh\n');
    await chmod(join(dir, n), 0o755);
  }
  return dir;
}

test('binaries map to their Debian packages, deduplicated and sorted', () => {
  assert.deepEqual(packagesFor(['qemu-system-x86_64', 'busybox', 'depmod', 'xz', 'vde_switch']),
    ['busybox-static', 'kmod', 'qemu-system-x86', 'vde2', 'xz-utils']);
  assert.deepEqual(packagesFor(['mkfs.ext4', 'debugfs']), ['e2fsprogs']);
  assert.deepEqual(packagesFor(['zstd', 'dpkg-deb', 'ssh-keygen', 'qemu-img', 'mmdebstrap', 'cpio', 'tcpdump']),
    ['cpio', 'dpkg', 'mmdebstrap', 'openssh-client', 'qemu-utils', 'tcpdump', 'zstd']);
  assert.equal(installCommand(['qemu-img', 'busybox']), 'apt-get install -y busybox-static qemu-utils');
});

test('requireTools finds present tools and names every missing one with the apt fix', async () => {
  const dir = await fakeBin(['mmdebstrap', 'cpio']);
  const found = requireTools(['mmdebstrap', 'cpio'], { dirs: [dir] });
  assert.equal(found.mmdebstrap, join(dir, 'mmdebstrap'));
  assert.throws(() => requireTools(['mmdebstrap', 'qemu-system-x86_64', 'depmod', 'vde_switch'], { dirs: [dir] }), (err: unknown) => {
    assert.ok(err instanceof InfraError);
    assert.match(err.message, /qemu-system-x86_64, depmod, vde_switch/);
    assert.equal(err.fix, 'apt-get install -y kmod qemu-system-x86 vde2');
    return true;
  });
});

test('a file that is not executable does not count', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'netlab-bin-'));
  await writeFile(join(dir, 'zstd'), 'x');
  assert.equal(findTool('zstd', [dir]), undefined);
});

test('the search path adds /usr/sbin and /sbin to PATH', () => {
  const dirs = searchDirs('/usr/local/bin:/usr/bin');
  assert.deepEqual(dirs.slice(0, 2), ['/usr/local/bin', '/usr/bin']);
  assert.ok(dirs.includes('/usr/sbin'));
  assert.ok(dirs.includes('/sbin'));
});
