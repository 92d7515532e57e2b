// The cached VM image and kernels: built (or found) for real from Debian's mirror, inspected without
// mounting anything (debugfs reads the ext4 images), and looked up again from the cache quickly and
// offline. The first run builds (~40 s image, ~7 s per kernel); later runs take about a second.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { execa } from 'execa';
import { DEFAULT_PACKAGES, ensureImage, imageRecipeHash } from '../../vm/build/image.ts';
import { initrdModuleOrder } from '../../vm/build/initramfs.ts';
import { bzImagePayload, elfComplete, elfHasPvhEntry } from '../../vm/build/kernel-file.ts';
import { KernelSpecError, parseKernelSpec } from '../../vm/build/kernel-spec.ts';
import { ensureKernel } from '../../vm/build/kernel.ts';
import type { VmEvent } from '../../vm/events.ts';

const BUILD_TIMEOUT = 15 * 60_000;

/** `debugfs -R 'stat <path>'` on an ext4 image file: does the path exist in it? */
async function existsInExt4(image: string, path: string): Promise<boolean> {
  const r = await execa('debugfs', ['-R', `stat ${path}`, image], { reject: false });
  return r.exitCode === 0 && !/not found|File not found/i.test(r.stderr + r.stdout) && /Inode:/.test(r.stdout);
}

async function catExt4(image: string, path: string): Promise<string> {
  return (await execa('debugfs', ['-R', `cat ${path}`, image])).stdout;
}

test('the image builds (or is cached) and holds the lab tools, netlab-init and the keys', { timeout: BUILD_TIMEOUT }, async () => {
  const events: VmEvent[] = [];
  const img = await ensureImage({ onEvent: (e) => events.push(e) });
  if (events.length > 0) {
    const first = events[0]!;
    const last = events.at(-1)!;
    assert.ok(first.type === 'image-build' && first.phase === 'start');
    assert.ok(last.type === 'image-build' && last.phase === 'done' && typeof last.ms === 'number');
  }
  const st = await stat(img.rootfs);
  assert.equal(st.mode & 0o777, 0o444, 'the base image is read-only');
  assert.ok(st.blocks * 512 < 600 * 2 ** 20, 'trimmed: under 600 MiB actually used');
  for (const p of [
    '/usr/sbin/netlab-init', '/usr/sbin/dropbear', '/usr/lib/sftp-server', '/usr/bin/tcpdump', '/usr/bin/ip', '/usr/sbin/nft',
    '/usr/sbin/iptables', '/usr/sbin/brctl', '/usr/sbin/ethtool', '/usr/bin/curl', '/usr/bin/ping',
    '/usr/bin/busybox', '/usr/bin/python3', '/usr/lib/python3.11/http/server.py', '/usr/bin/etcd',
    '/usr/bin/etcdctl', '/usr/lib/modules', '/etc/dropbear/dropbear_ed25519_host_key',
  ]) {
    assert.ok(await existsInExt4(img.rootfs, p), `${p} in the image`);
  }
  assert.equal(await existsInExt4(img.rootfs, '/usr/share/man/man1/tcpdump.1.gz'), false, 'no manual pages');
  for (const other of ['/etc/ssh/ssh_host_rsa_key', '/etc/ssh/ssh_host_ed25519_key', '/usr/sbin/sshd']) {
    assert.equal(await existsInExt4(img.rootfs, other), false, `one host key only, in dropbear's format; no OpenSSH server (${other})`);
  }
  const clientPub = (await readFile(`${img.sshKey}.pub`, 'utf8')).trim();
  assert.equal((await catExt4(img.rootfs, '/root/.ssh/authorized_keys')).trim(), clientPub);
  assert.equal((await catExt4(img.rootfs, '/etc/ssh/ssh_host_ed25519_key.pub')).trim(), img.hostPublicKey);
  assert.match(img.hostPublicKey, /^ssh-ed25519 \S+/);
  assert.equal((await stat(img.sshKey)).mode & 0o077, 0, 'private key not readable by others');
});

test('a cached image is found in well under 200 ms', async () => {
  await ensureImage();
  const t = performance.now();
  const img = await ensureImage();
  const ms = performance.now() - t;
  assert.ok(ms < 200, `cached lookup took ${ms.toFixed(1)} ms`);
  assert.equal(img.recipeHash, imageRecipeHash(DEFAULT_PACKAGES));
});

test('the recipe hash follows the package list (order and duplicates do not matter)', () => {
  const base = imageRecipeHash(DEFAULT_PACKAGES);
  assert.notEqual(imageRecipeHash([...DEFAULT_PACKAGES, 'jq']), base);
  assert.notEqual(imageRecipeHash(DEFAULT_PACKAGES.filter((p) => p !== 'curl')), base);
  assert.equal(imageRecipeHash([...DEFAULT_PACKAGES].reverse().concat(['curl'])), base);
});

test('debian:bookworm fetches a 6.1 cloud kernel with an initramfs and a modules disk', { timeout: BUILD_TIMEOUT }, async () => {
  const k = await ensureKernel('debian:bookworm');
  assert.equal(k.name, 'debian:bookworm');
  assert.match(k.version, /^6\.1\.\d+-\d+-cloud-amd64$/);
  for (const f of [k.kernel, k.initrd, k.modulesDisk]) assert.ok((await stat(f)).size > 0, f);
  // Decompressed ahead of time (booted through its PVH entry), or the bzImage as shipped.
  const kernelFile = await readFile(k.kernel);
  if (k.kernel.endsWith('/vmlinux')) assert.ok(elfComplete(kernelFile) && elfHasPvhEntry(kernelFile), 'vmlinux is a whole ELF with a PVH entry');
  else assert.ok(bzImagePayload(kernelFile), 'vmlinuz is a bzImage');
  const initrd = await stat(k.initrd);
  assert.ok(initrd.size > 300_000 && initrd.size < 3_000_000, `initrd is ${initrd.size} bytes`);
  const head = await readFile(k.initrd);
  assert.equal(head.readUInt16BE(0), 0x1f8b, 'initrd is gzip');
  const list = (await execa('bash', ['-c', 'zcat "$1" | cpio -t --quiet', 'bash', k.initrd])).stdout.split('\n');
  for (const f of ['init', 'bin/busybox', 'etc/modules.load', 'lib/modules/virtio_blk.ko', 'lib/modules/virtio_pci.ko']) {
    assert.ok(list.includes(f), `${f} in the initramfs`);
  }
  // Mounted on /usr/lib/modules, the disk's top level must be <version>/ with a modules.dep.
  assert.ok(await existsInExt4(k.modulesDisk, `/${k.version}/modules.dep`));
  assert.ok(await existsInExt4(k.modulesDisk, `/${k.version}/kernel/net/bridge`));
  const label = (await execa('bash', ['-c', 'dumpe2fs -h "$1" 2>/dev/null | grep "volume name"', 'bash', k.modulesDisk])).stdout;
  assert.match(label, /kmods/);
});

test('a cached kernel is found in under 200 ms without the network', async () => {
  await ensureKernel('debian:bookworm');
  const saved = process.env.NETLAB_MIRROR;
  process.env.NETLAB_MIRROR = 'http://127.0.0.1:9/no-network-here';
  try {
    const events: VmEvent[] = [];
    const t = performance.now();
    const k = await ensureKernel('debian:bookworm', { onEvent: (e) => events.push(e) });
    const ms = performance.now() - t;
    assert.ok(ms < 200, `cached lookup took ${ms.toFixed(1)} ms`);
    assert.deepEqual(events, [], 'no fetch happened');
    assert.match(k.version, /^6\.1\./);
  } finally {
    if (saved === undefined) delete process.env.NETLAB_MIRROR;
    else process.env.NETLAB_MIRROR = saved;
  }
});

test('kernel specs: valid forms parse, anything else is a KernelSpecError naming the valid forms', () => {
  assert.deepEqual(parseKernelSpec('debian:trixie'), { kind: 'debian', spec: 'debian:trixie', release: 'trixie', flavour: 'cloud', slug: 'debian-trixie-cloud' });
  assert.equal(parseKernelSpec('debian:bookworm:generic').slug, 'debian-bookworm-generic');
  const local = parseKernelSpec('local:/k/bzImage:/k/mods');
  assert.equal(local.kind, 'local');
  assert.ok(local.kind === 'local' && local.bzImage === '/k/bzImage' && local.modules === '/k/mods');
  for (const bad of ['debian:potato', 'debian:bookworm:rt', 'ubuntu:jammy', 'local:/only-one-path', '']) {
    assert.throws(() => parseKernelSpec(bad), (e: unknown) => e instanceof KernelSpecError && /debian:<release>/.test(e.message), bad);
  }
});

test('initramfs module order: dependencies first, built-in and absent modules skipped', () => {
  const dep = [
    'kernel/drivers/virtio/virtio_pci.ko.xz: kernel/drivers/virtio/virtio_pci_modern_dev.ko.xz kernel/drivers/virtio/virtio_ring.ko.xz kernel/drivers/virtio/virtio.ko.xz',
    'kernel/drivers/virtio/virtio_pci_modern_dev.ko.xz:',
    'kernel/drivers/virtio/virtio_ring.ko.xz:',
    'kernel/drivers/virtio/virtio.ko.xz: kernel/drivers/virtio/virtio_ring.ko.xz',
    'kernel/drivers/block/virtio_blk.ko.xz: kernel/drivers/virtio/virtio.ko.xz kernel/drivers/virtio/virtio_ring.ko.xz',
    'kernel/fs/ext4/ext4.ko.xz: kernel/lib/crc16.ko.xz kernel/fs/mbcache.ko.xz kernel/fs/jbd2/jbd2.ko.xz',
    'kernel/lib/crc16.ko.xz:', 'kernel/fs/mbcache.ko.xz:', 'kernel/fs/jbd2/jbd2.ko.xz:',
  ].join('\n');
  const order = initrdModuleOrder(dep, 'kernel/fs/jbd2/jbd2.ko\n', ['virtio_pci', 'virtio_blk', 'crc32c_generic', 'ext4']).map((m) => m.name);
  assert.deepEqual(order, ['virtio_pci_modern_dev', 'virtio_ring', 'virtio', 'virtio_pci', 'virtio_blk', 'crc16', 'mbcache', 'ext4']);
});
