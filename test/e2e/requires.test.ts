// `requires:` on a real old kernel: what the kernel cannot do is skipped with the reason, not failed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.ts';

test('on debian:bullseye (5.10) a ">=6.0" check and a missing-module check are skipped; the run passes', async () => {
  const out = await mkdtemp(join(tmpdir(), 'netlab-requires-'));
  const r = await runCli(['test/fixtures/matrix/requires', '--kernel', 'debian:bullseye', '--out', out], { timeoutMs: 300_000, env: { NETLAB_CONFIG: 'none' } });
  assert.equal(r.exitCode, 0, r.all);
  const result = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as { score: number; maxScore: number; kernel: { version: string }; checks: { id: string; status: string; reason?: string }[] };
  assert.match(result.kernel.version, /^5\.10\./);
  const by = Object.fromEntries(result.checks.map((c) => [c.id, c]));
  assert.equal(by['the-kernel-answers']!.status, 'passed');
  assert.equal(by['needs-linux-6-or-newer']!.status, 'skipped');
  assert.match(by['needs-linux-6-or-newer']!.reason!, /needs kernel >=6\.0; this is 5\.10\./);
  assert.equal(by['needs-a-module-no-kernel-has']!.status, 'skipped');
  assert.match(by['needs-a-module-no-kernel-has']!.reason!, /netlab_no_such_module/);
  assert.equal(by['needs-vxlan']!.status, 'passed');
  assert.deepEqual([result.score, result.maxScore], [2, 2]);
});
