// `netlab-run verify` on real VMs proves a lab's declarations wrong: a copy of the veth lab whose
// lab.yaml declares a wrong score for one example and a wrong list of failing checks for another
// exits 1, naming both and what differs, while the reference and a correct example pass. (Every lab
// e2e test, test/e2e/lab-*.test.ts and bridge-lab.test.ts, runs verify on the real lab: exit 0.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { repo, runCli } from '../helpers/cli.ts';
import { qemuPidsUnder } from '../helpers/processes.ts';

test('a wrong declaration: exit 1, the examples that differ named with expected vs got, per-example reports kept', async () => {
  const root = await mkdtemp(join(tmpdir(), 'netlab-verify-e2e-'));
  const labDir = join(root, 'veth');
  cpSync(join(repo, 'labs', 'veth'), labDir, { recursive: true });
  const yaml = readFileSync(join(labDir, 'lab.yaml'), 'utf8');
  const declared = (parse(yaml) as { examples: { file: string; score: number; failed?: string[] }[] }).examples;
  assert.deepEqual(declared.map((e) => [e.file, e.score]), [['examples/no-lo.sh', 16], ['examples/wrong-prefix.sh', 16], ['examples/peer-down.sh', 8]]);
  // no-lo really gets 16: declare 15. wrong-prefix fails the prefix check: declare the lo check
  // instead. A copy of no-lo declared right passes beside them; peer-down stays out (fewer units).
  writeFileSync(join(labDir, 'lab.yaml'), yaml.replace(/\nexamples:[\s\S]*$/, `
examples:
  - { file: examples/no-lo.sh, score: 15 }
  - { file: examples/wrong-prefix.sh, score: 16, failed: [lo-is-up-in-both-namespaces] }
  - { file: examples/no-lo-again.sh, score: 16, failed: [lo-is-up-in-both-namespaces] }
`));
  cpSync(join(labDir, 'examples', 'no-lo.sh'), join(labDir, 'examples', 'no-lo-again.sh'));

  const out = join(root, 'out');
  const runtime = await mkdtemp(join(tmpdir(), 'netlab-verify-rt-'));
  const r = await runCli(['verify', labDir, '--out', out], { timeoutMs: 600_000, cwd: root, env: { NETLAB_RUNTIME_DIR: runtime } });
  assert.equal(r.exitCode, 1, r.all);
  const line = (name: string) => r.stdout.split('\n').find((l) => new RegExp(`^ {2}\\S ${name} `).test(l)) ?? assert.fail(`no line for ${name}:\n${r.stdout}`);
  assert.match(line('reference'), /^ {2}✓ reference +17\/17 {2}full marks$/);
  assert.match(line('no-lo'), /^ {2}✗ no-lo +16\/17 {2}expected 15, got 16 \(did not pass: lo-is-up-in-both-namespaces\) {2}\(out\/veth\/staff\/no-lo\/index\.html\)$/);
  assert.match(line('wrong-prefix'), /^ {2}✗ wrong-prefix +16\/17 {2}did not pass, not declared: both-addresses-are-24-10-1-2-1-is-not-on-link; declared in failed, but passed: lo-is-up-in-both-namespaces /);
  assert.match(line('no-lo-again'), /^ {2}✓ no-lo-again +16\/17 {2}expected 16, failing lo-is-up-in-both-namespaces$/);
  assert.match(r.stdout, /^verify: 2 of 4 submissions of 1 lab graded otherwise than declared: the lab's checks do not grade its examples as declared$/m);

  // --out keeps a report per submission (student and staff copies), the gradebook and verify.json.
  for (const name of ['reference', 'no-lo', 'wrong-prefix', 'no-lo-again']) {
    for (const f of [`veth/${name}/index.html`, `veth/${name}/summary.json`, `veth/staff/${name}/result.json`]) assert.ok(existsSync(join(out, f)), f);
  }
  const gradebook = readFileSync(join(out, 'veth', 'gradebook.csv'), 'utf8');
  assert.match(gradebook, /^no-lo,16,17,/m);
  const doc = JSON.parse(readFileSync(join(out, 'verify.json'), 'utf8'));
  assert.equal(doc.exitCode, 1);
  assert.deepEqual(doc.labs[0].examples.map((e: { name: string; verdict: string }) => [e.name, e.verdict]),
    [['reference', 'match'], ['no-lo', 'differs'], ['wrong-prefix', 'differs'], ['no-lo-again', 'match']]);
  assert.deepEqual(qemuPidsUnder(runtime), [], 'no qemu left behind');
  assert.deepEqual(readdirSync(runtime), [], 'no run folder left behind');
});
