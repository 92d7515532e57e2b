// Every lab under labs/ has its assignment, README.md, and the assignment agrees with lab.yaml: the
// machines, the file to hand in and the commands that run it, the total points, how to grade it locally.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { labMaxScore } from '../../runner/lab/examples.ts';
import { loadLab } from '../../runner/lab/load.ts';

const LABS = fileURLToPath(new URL('../../labs/', import.meta.url));
const dirs = readdirSync(LABS, { withFileTypes: true }).filter((e) => e.isDirectory() && existsSync(join(LABS, e.name, 'lab.yaml'))).map((e) => e.name).sort();

test('the nine labs are all here', () => {
  assert.deepEqual(dirs, ['bridge', 'docker-modes', 'docker-overlay', 'docker-publish', 'host-none', 'macvlan', 'nat', 'overlay', 'veth']);
});

for (const dir of dirs) {
  test(`labs/${dir}: README.md is the assignment lab.yaml points at, and it matches lab.yaml`, async () => {
    const readme = join(LABS, dir, 'README.md');
    assert.ok(existsSync(readme), `labs/${dir} has no README.md`);
    const text = readFileSync(readme, 'utf8');
    const { lab } = await loadLab(join(LABS, dir));
    assert.match(lab.description ?? '', /See\s+README\.md/, 'lab.yaml\'s description points at README.md');
    for (const m of Object.keys(lab.machines)) assert.match(text, new RegExp(`\\b${m}\\b`), `names the machine ${m}`);
    const sub = lab.submission!;
    assert.ok(text.includes(`\`${sub.file}\``), `names the file to hand in, ${sub.file}`);
    for (const run of sub.run ? [sub.run] : sub.stages!.map((s) => s.run)) assert.ok(text.includes(run), `shows how it is run: ${run}`);
    assert.equal(Number(/graded \((\d+) points\)/.exec(text)?.[1]), labMaxScore(lab), 'the points it announces are the lab\'s maximum');
    assert.ok(text.includes(`netlab-run labs/${dir} --submission ${sub.file}`), 'says how to grade it locally');
  });
}
