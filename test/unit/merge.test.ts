// `netlab-run merge`: which blob reports it picks up from the paths given, and its usage errors
// (the merge itself, of real shards, is in test/e2e/kernel-matrix.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, realpath, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findBlobReports } from '../../runner/orchestrate/merge.ts';
import { runCli } from '../helpers/cli.ts';

test('blob reports: Playwright\'s report(-N).zip anywhere below the folders given (or zips named), not other zips', async () => {
  const root = await realpath(await mkdtemp(join(tmpdir(), 'netlab-merge-')));
  const files = ['shard1/blob-report/report-1.zip', 'shard2/staff/blob-report/report-2.zip', 'artifacts/report-3.zip',
    'blobs/blob-report-4/report-4.zip', 'shard1/bridge@debian-sid/captures/report.zip', 'shard1/other.zip'];
  for (const f of files) { await mkdir(join(root, f, '..'), { recursive: true }); await writeFile(join(root, f), 'PK'); }
  assert.deepEqual(await findBlobReports([join(root, 'shard1'), join(root, 'shard2')]),
    [join(root, 'shard1/blob-report/report-1.zip'), join(root, 'shard2/staff/blob-report/report-2.zip')]);
  assert.deepEqual(await findBlobReports([join(root, 'artifacts'), join(root, 'artifacts/report-3.zip'), join(root, 'blobs')]),
    [join(root, 'artifacts/report-3.zip'), join(root, 'blobs/blob-report-4/report-4.zip')]);
  assert.deepEqual(await findBlobReports([join(root, 'shard1/other.zip')]), [join(root, 'shard1/other.zip')], 'a zip named is taken');
  await assert.rejects(findBlobReports([join(root, 'nope')]), /no such file or folder/);
});

test('merge without blob reports, or with a bad baseline, is a usage error (exit 2)', async () => {
  const empty = await mkdtemp(join(tmpdir(), 'netlab-merge-empty-'));
  const r = await runCli(['merge', empty, '--out', join(empty, 'out')]);
  assert.equal(r.exitCode, 2, r.all);
  assert.match(r.stderr, /merge: no blob report in /);
  const b = await runCli(['merge', empty, '--baseline', join(empty, 'missing.json')]);
  assert.equal(b.exitCode, 2, b.all);
  assert.match(b.stderr, /--baseline: cannot read /);
});
