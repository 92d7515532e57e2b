import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InfraError } from '../../vm/errors.ts';
import {
  debianMirror, findTool, installCommand, mirrorsFromAptConfig, mirrorsFromDeb822, mirrorsFromOneLine,
  packagesFor, requireTools, searchDirs,
} from '../../vm/host-tools.ts';

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

test('mirror: deb822 sources, security archives skipped, disabled stanzas ignored', () => {
  const text = [
    'Types: deb',
    '# http://snapshot.debian.org/archive/debian/20250520T000000Z',
    'URIs: http://mirror.example/debian',
    'Suites: bookworm bookworm-updates',
    'Components: main',
    '',
    'Types: deb',
    'URIs: http://mirror.example/debian-security',
    'Suites: bookworm-security',
    '',
    'Types: deb',
    'URIs: http://off.example/debian',
    'Suites: bookworm',
    'Enabled: no',
  ].join('\n');
  const all = mirrorsFromDeb822(text);
  assert.deepEqual(all.map((s) => s.uri), ['http://mirror.example/debian', 'http://mirror.example/debian-security']);
});

test('mirror: one-line sources.list with options', () => {
  const s = mirrorsFromOneLine('# comment\ndeb-src http://src.example/debian bookworm main\ndeb [arch=amd64 signed-by=/x.gpg] http://m.example/debian/ bookworm main\n');
  assert.deepEqual(s, [{ uri: 'http://m.example/debian/', suites: ['bookworm'] }]);
});

test('mirror: read from an apt folder, NETLAB_MIRROR wins, none found is an InfraError', async () => {
  const apt = await mkdtemp(join(tmpdir(), 'netlab-apt-'));
  await mkdir(join(apt, 'sources.list.d'));
  await writeFile(join(apt, 'sources.list.d', 'debian.sources'), 'Types: deb\nURIs: http://a.example/debian-security\nSuites: bookworm-security\n\nTypes: deb\nURIs: http://a.example/debian/\nSuites: bookworm\n');
  await writeFile(join(apt, 'sources.list'), 'deb http://b.example/debian bookworm main\n');
  assert.deepEqual(mirrorsFromAptConfig(apt), ['http://a.example/debian', 'http://b.example/debian']);
  assert.equal(debianMirror({ env: {}, aptDir: apt }), 'http://a.example/debian');
  assert.equal(debianMirror({ env: { NETLAB_MIRROR: 'http://c.example/debian/' }, aptDir: apt }), 'http://c.example/debian');
  const empty = await mkdtemp(join(tmpdir(), 'netlab-apt-'));
  assert.throws(() => debianMirror({ env: {}, aptDir: empty }), (e: unknown) => e instanceof InfraError && /NETLAB_MIRROR/.test(e.fix ?? ''));
});
