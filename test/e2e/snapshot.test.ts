// Snapshot restore: clones of one saved guest start at once and are independent machines.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cacheRoot } from '../../vm/build/cache.ts';
import { ensureImage } from '../../vm/build/image.ts';
import { ensureKernel } from '../../vm/build/kernel.ts';
import { findSnapshot, snapshotKey } from '../../vm/qemu/snapshot.ts';
import type { VmEvent } from '../../vm/events.ts';
import { succeed } from '../helpers/wait.ts';
import { bootMachines } from '../helpers/vms.ts';

process.env.NETLAB_RUNTIME_DIR = await mkdtemp(join(tmpdir(), 'netlab-snap-rt-'));

// A cache of its own whose path holds a space and a comma (a user's home may): the snapshot is saved
// and loaded through QEMU option lists and `exec:` shell commands. The image and kernel are the
// shared cache's, linked in (built there first if missing).
await ensureImage();
await ensureKernel('debian:bookworm');
const sharedCache = cacheRoot();
const cache = await mkdtemp(join(tmpdir(), 'netlab snap,cache-'));
for (const dir of ['images', 'kernels']) await symlink(join(sharedCache, dir), join(cache, dir));
process.env.NETLAB_CACHE = cache;
after(() => rm(cache, { recursive: true, force: true }));

test('two copies of one snapshot restored at once are independent machines', async () => {
  const image = await ensureImage();
  const kernel = await ensureKernel('debian:bookworm');
  const key = await snapshotKey({ image, kernel, memoryMb: 256, cpus: 1, accel: 'tcg', nics: [{ link: 'lan', mac: 'x', backend: { type: 'dgram', localPath: '', remotePath: '' } }], lock: [], boot: [] });
  const events: VmEvent[] = [];
  // The first start of this shape saves the snapshot (the cache is new); the next start restores two
  // machines of that shape from it, at the same time.
  const warm = await bootMachines(['a', 'b'], [{ name: 'lan', machines: ['a', 'b'] }]);
  await warm.stop();
  const snap = await findSnapshot(key);
  assert.ok(snap, 'the snapshot exists after the first start of this shape');
  assert.ok(snap.state.startsWith(`${cache}/`) && snap.ram.startsWith(`${cache}/`), `the snapshot is in the test's own cache: ${snap.state}`);
  const before = await fingerprint([snap.ram, snap.state, snap.disk, snap.overlay]);
  const set = await bootMachines(['a', 'b'], [{ name: 'lan', machines: ['a', 'b'] }], { onEvent: (e) => events.push(e) });
  try {
    const restored = events.filter((e) => e.type === 'snapshot' && e.phase === 'restored').map((e) => (e as { machine: string }).machine).sort();
    assert.deepEqual(restored, ['a', 'b'], 'both machines were restored, not booted');
    const a = set.machine('a');
    const b = set.machine('b');
    assert.equal((await succeed(a, 'hostname')).trim(), 'a');
    assert.equal((await succeed(b, 'hostname')).trim(), 'b');
    const macA = (await succeed(a, 'cat /sys/class/net/eth1/address')).trim();
    const macB = (await succeed(b, 'cat /sys/class/net/eth1/address')).trim();
    assert.notEqual(macA, macB);
    assert.deepEqual([macA, macB], set.nics('a').concat(set.nics('b')).map((n) => n.mac));
    // The snapshot was saved with eth0's link up, so no clone starts with a stale NO-CARRIER.
    for (const m of [a, b]) assert.match(await succeed(m, 'cat /sys/class/net/eth0/carrier /sys/class/net/eth0/operstate'), /^1\nup\n$/);
    const [epA, epB] = set.endpoints();
    assert.notEqual(epA!.port, epB!.port);
    await succeed(a, 'echo only-in-a > /root/marker');
    assert.equal((await b.exec('cat /root/marker')).exitCode, 1);
    // RAM too: both map the snapshot's RAM file copy-on-write, so what one writes the other never sees.
    await succeed(a, 'echo only-in-a > /run/marker && sync');
    assert.equal((await b.exec('cat /run/marker')).exitCode, 1);
    // The SSH connection of the warm-up before the save was closed: only dropbear's listener and this
    // connection's process.
    assert.equal((await succeed(a, 'pgrep -c -x dropbear')).trim(), '2');
    // Fresh randomness and a correct clock in each clone.
    assert.notEqual(await succeed(a, 'head -c 16 /dev/urandom | base64'), await succeed(b, 'head -c 16 /dev/urandom | base64'));
    const guestNow = Number(await succeed(a, 'date +%s'));
    assert.ok(Math.abs(guestNow - Date.now() / 1000) < 5, `guest clock ${guestNow} is close to the host's`);
    // The clones talk over their link: distinct MACs make ARP work.
    await succeed(a, 'ip link set eth1 up && ip addr add 192.168.77.1/24 dev eth1');
    await succeed(b, 'ip link set eth1 up && ip addr add 192.168.77.2/24 dev eth1');
    assert.match(await succeed(a, 'ping -c 2 -W 2 192.168.77.2'), /2 received/);
  } finally {
    await set.stop();
  }
  assert.deepEqual(await fingerprint([snap.ram, snap.state, snap.disk, snap.overlay]), before, 'restores never change the snapshot');
});

async function fingerprint(files: string[]): Promise<string[]> {
  return Promise.all(files.map(async (f) => {
    const h = createHash('sha256');
    for await (const chunk of createReadStream(f)) h.update(chunk as Buffer);
    return `${f} ${h.digest('hex')}`;
  }));
}
