// Whom QEMU runs as: its own ids when netlab-run is root and QEMU can drop (9.1+), else itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { passableByOthers, qemuIdentity, supportsRunWith } from '../../vm/qemu/identity.ts';

test('QEMU 9.1 and later can drop to a user of its own; older ones cannot', () => {
  assert.equal(supportsRunWith('QEMU emulator version 10.0.2 (Debian 1:10.0.2+ds-2+deb13u1~bpo12+1)'), true);
  assert.equal(supportsRunWith('QEMU emulator version 9.1.0'), true);
  assert.equal(supportsRunWith('QEMU emulator version 9.0.2'), false);
  assert.equal(supportsRunWith('QEMU emulator version 8.2.2 (Debian 1:8.2.2+ds-0ubuntu1)'), false);
  assert.equal(supportsRunWith('unknown'), false);
});

test('each VM set gets ids of its own, of no account; NETLAB_QEMU_USER=root keeps root', async (t) => {
  if (process.getuid?.() !== 0) { t.skip('only root drops privileges'); return; }
  const a = await qemuIdentity({});
  const b = await qemuIdentity({});
  assert.ok(a && b, 'root with this QEMU drops');
  assert.ok(a.uid >= 1_900_000_000 && a.uid < 2 ** 31 && a.gid === a.uid);
  assert.notEqual(a.uid, b.uid);
  assert.equal(await qemuIdentity({ NETLAB_QEMU_USER: 'root' }), undefined);
});

test('QEMU stays root when its runtime folder lies inside a folder others cannot pass', async (t) => {
  const base = await mkdtemp(join(tmpdir(), 'netlab-pass-'));
  try {
    await mkdir(join(base, 'rt'));
    await chmod(base, 0o700);
    assert.equal(passableByOthers(base), false);
    if (process.getuid?.() === 0) assert.equal(await qemuIdentity({}, join(base, 'rt')), undefined);
    await chmod(base, 0o711);
    assert.equal(passableByOthers(base), passableByOthers(tmpdir()));
    if (process.getuid?.() === 0 && passableByOthers(tmpdir())) assert.ok(await qemuIdentity({}, join(base, 'rt')));
  } finally {
    await rm(base, { recursive: true, force: true });
  }
  t.diagnostic('ok');
});
