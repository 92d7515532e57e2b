// The host stops a machine whose overlay passes the disk limit: a file that grows past it is reported
// once, a sparse file counts what it takes (not its length), and stop() ends the watching.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, open, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { allocatedBytes, DEFAULT_DISK_LIMIT, diskLimit, watchDisks } from '../../vm/qemu/disk-watch.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a machine whose overlay grows past the limit is reported once; one under it never', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'netlab-disk-'));
  const a = join(dir, 'a.qcow2');
  const b = join(dir, 'b.qcow2');
  await writeFile(a, '');
  await writeFile(b, Buffer.alloc(64 * 1024, 1));
  // b is 1 TiB long but sparse: only what it allocates counts.
  await truncate(b, 2 ** 40);
  const seen: [string, number][] = [];
  const w = watchDisks(new Map([['host', a], ['node2', b]]), 1024 * 1024, (m, bytes) => seen.push([m, bytes]));
  try {
    await sleep(600);
    assert.deepEqual(seen, []);
    const f = await open(a, 'a');
    for (let i = 0; i < 3; i++) await f.write(Buffer.alloc(1024 * 1024, 2));
    await f.close();
    await sleep(600);
    assert.equal(seen.length, 1);
    assert.equal(seen[0]![0], 'host');
    assert.ok(seen[0]![1] >= 3 * 1024 * 1024);
    await writeFile(a, Buffer.alloc(5 * 1024 * 1024, 3));
    await sleep(600);
    assert.equal(seen.length, 1, 'reported once');
    assert.ok(await allocatedBytes(b) < 1024 * 1024);
  } finally {
    w.stop();
    await rm(dir, { recursive: true, force: true });
  }
  assert.equal(diskLimit({}), DEFAULT_DISK_LIMIT);
  assert.equal(diskLimit({ NETLAB_MAX_DISK: '64' }), 64 * 1024 * 1024);
});
