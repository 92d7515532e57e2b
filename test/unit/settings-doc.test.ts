// docs/settings.md is the one table of the environment variables netlab-run reads: every one the
// code reads is in it, and it lists none the code does not read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { repo } from '../helpers/cli.ts';

test('docs/settings.md lists exactly the NETLAB_* variables the code reads', async () => {
  const files = (await execa('git', ['ls-files', '--cached', '--others', '--exclude-standard', 'runner', 'vm', 'reports', 'bin', 'scripts'], { cwd: repo })).stdout
    .split('\n').filter((f) => /\.(ts|mjs|sh)$/.test(f));
  const read = new Set<string>();
  for (const f of files) {
    const text = readFileSync(join(repo, f), 'utf8');
    for (const m of text.matchAll(/\benv\.(NETLAB_[A-Z_]+)|\$\{?(NETLAB_[A-Z_]+)/g)) read.add(m[1] ?? m[2]!);
  }
  // Set by netlab-run for its own processes, or in the guest by the submission's wrapper.
  for (const internal of ['NETLAB_WIRE', 'NETLAB_PLAYWRIGHT_CONFIG', 'NETLAB_EXEC']) read.delete(internal);
  const doc = readFileSync(join(repo, 'docs', 'settings.md'), 'utf8');
  assert.ok(read.size >= 10, `only ${read.size} variables found`);
  const listed = new Set([...doc.matchAll(/^\| `(NETLAB_[A-Z_]+)` \|/gm)].map((m) => m[1]!));
  assert.deepEqual([...read].filter((v) => !listed.has(v)).sort(), [], 'read by the code, missing from docs/settings.md');
  assert.deepEqual([...listed].filter((v) => !read.has(v)).sort(), [], 'in docs/settings.md, read nowhere');
});
