// A machine that asks for Debian packages beyond the base image (lab.yaml `packages`) boots an image
// of its own, built from Debian's archive and cached by its recipe; the lab's other machine keeps
// the base image, which does not change. Its pristine copy is the grading agent's: the checks run
// the packages' programs in the trusted context.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_PACKAGES, ensureImage, imageRecipeHash } from '../../vm/build/image.ts';
import { runCli } from '../helpers/cli.ts';
import { tempDir } from '../helpers/temp-dirs.ts';

test('a machine with packages of its own (jq, socat) boots its own image; the other keeps the base image', async () => {
  const out = await tempDir('netlab-packages-');
  const r = await runCli([join('test', 'fixtures', 'labs', 'packages'), '--out', out], { timeoutMs: 10 * 60_000 });
  assert.equal(r.exitCode, 0, r.all);
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  assert.deepEqual([summary.score, summary.maxScore], [2, 2]);
  // The extra image is cached under its own recipe, from Debian's archive; the base one is as before.
  const own = await ensureImage({ packages: [...DEFAULT_PACKAGES, 'jq', 'socat'] });
  assert.ok(own.packages.includes('jq') && own.packages.includes('socat'));
  assert.notEqual(own.recipeHash, imageRecipeHash());
  assert.ok(!(await ensureImage()).packages.includes('jq'));
});

test('a package Debian does not have stops the run at its lab.yaml line (exit 2), not as a failed build', async () => {
  const out = await tempDir('netlab-packages-');
  const r = await runCli([join('test', 'fixtures', 'labs', 'packages-unknown'), '--out', out], { timeoutMs: 5 * 60_000 });
  assert.equal(r.exitCode, 2, r.all);
  assert.match(r.all, /packages-unknown\/lab\.yaml:6:\d+: machines\.host\.packages\[1\]: Debian \w+ has no package "no-such-package-netlab"/);
  assert.match(r.all, /fix: use the name of a Debian/);
  assert.doesNotMatch(r.all, /mmdebstrap exited|at \w+ \(/);
});
