// A lab's own checks in TypeScript, on real VMs: a course's lab folder (outside this repository,
// importing `netlab-run/lab` as an installed package would) adds spec checks to the bridge lab; they
// grade with partial credit, record their commands, and fail with the expect message as "got".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repo, runCli } from '../helpers/cli.ts';

interface Check { id: string; status: string; points: number; maxPoints: number; got: string; commands: { command: string; stdout: string }[] }

const course = await mkdtemp(join(tmpdir(), 'netlab-course-'));
const labDir = join(course, 'labs', 'bridge');
cpSync(join(repo, 'labs', 'bridge'), labDir, { recursive: true });
// A course's repository: its package.json installs netlab-run (here: a link to this checkout).
writeFileSync(join(course, 'package.json'), JSON.stringify({ name: 'course', private: true, type: 'module', devDependencies: { 'netlab-run': '*' } }));
mkdirSync(join(course, 'node_modules'));
symlinkSync(repo, join(course, 'node_modules', 'netlab-run'));
writeFileSync(join(labDir, 'extra.spec.ts'), `import { labCheck, expect } from 'netlab-run/lab';

// One point per direction that pings: partial credit from TypeScript.
export const pingsBothWays = labCheck(async ({ machine }) => {
  const host = machine();
  let earned = 0;
  for (const [ns, to] of [['net1', '10.100.0.20'], ['net2', '10.100.0.10']]) {
    if ((await host.exec(\`ip netns exec \${ns} ping -c 1 -W 1 \${to}\`)).exitCode === 0) earned += 1;
  }
  return earned;
});

export default labCheck(async ({ machine, expect: e, kernel }) => {
  expect(e).toBe(expect);
  expect(kernel.version).toMatch(/^6\\./);
  const links = await machine('host').exec('ip -o link show master br00 up');
  expect(links.stdout.trim().split('\\n').filter(Boolean), 'up ports of br00').toHaveLength(2);
});
`);
writeFileSync(join(labDir, 'lab.yaml'), readFileSync(join(labDir, 'lab.yaml'), 'utf8').replace(/\ncollect:/, `
  - name: pings cross the bridge both ways (TypeScript)
    spec: extra.spec.ts#pingsBothWays
    points: 2
  - name: br00 has two up ports (TypeScript)
    spec: extra.spec.ts
    on: host
    points: 2
    hint: Bring both host-side veth ends up.
collect:`));

async function grade(submission?: string) {
  const out = await mkdtemp(join(tmpdir(), 'netlab-e2e-spec-'));
  const r = await runCli([labDir, '--out', out, ...(submission ? ['--submission', join(repo, 'labs/bridge/examples', submission)] : [])], { timeoutMs: 300_000, cwd: course });
  const result = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as { score: number; maxScore: number; checks: Check[] };
  const check = (id: string) => result.checks.find((c) => c.id === id)!;
  return { r, result, ping: check('pings-cross-the-bridge-both-ways-typescript'), ports: check('br00-has-two-up-ports-typescript') };
}

test('spec checks pass with the reference solution: 26/26, their commands in the report', async () => {
  const { r, result, ping, ports } = await grade();
  assert.equal(r.exitCode, 0, r.all);
  assert.equal(result.maxScore, 26);
  assert.equal(result.score, 26);
  assert.equal(ping.status, 'passed');
  assert.deepEqual(ping.commands.map((c) => c.command), ['ip netns exec net1 ping -c 1 -W 1 10.100.0.20', 'ip netns exec net2 ping -c 1 -W 1 10.100.0.10']);
  assert.equal(ports.status, 'passed');
  assert.match(ports.commands[0]!.stdout, /master br00/);
});

test('spec checks fail with the expect message and earn partial points on a mistake', async () => {
  const { r, result, ping, ports } = await grade('veth-down.sh');
  assert.equal(r.exitCode, 1, r.all);
  assert.equal(ping.points, 0);
  assert.equal(ping.status, 'failed');
  assert.equal(ping.got, '0 of 2 points');
  assert.equal(ports.status, 'failed');
  assert.match(ports.got, /up ports of br00/);
  assert.match(ports.got, /Expected length: 2/);
  assert.doesNotMatch(ports.got, /\u001b\[/, 'no terminal colours in the report');
  assert.equal(result.score, 13);
});

test('a spec check naming a missing export is a lab error (exit 2) at its line', async () => {
  const broken = join(course, 'broken');
  cpSync(labDir, broken, { recursive: true });
  writeFileSync(join(broken, 'lab.yaml'), readFileSync(join(broken, 'lab.yaml'), 'utf8').replace('extra.spec.ts#pingsBothWays', 'extra.spec.ts#pingBothWays'));
  const r = await runCli([broken, '--list'], { cwd: course });
  assert.equal(r.exitCode, 2, r.all);
  assert.match(r.stderr, /broken\/lab\.yaml:\d+:\d+: checks\[\d+\]\.spec: extra\.spec\.ts has no exported function "pingBothWays"/);
  assert.match(r.stderr, /it exports .*"pingsBothWays"/);
});

test('a spec file outside an ES-module package is a lab error that says how to fix it', async () => {
  const cjs = await mkdtemp(join(tmpdir(), 'netlab-course-cjs-'));
  cpSync(labDir, join(cjs, 'bridge'), { recursive: true });
  mkdirSync(join(cjs, 'node_modules'));
  symlinkSync(repo, join(cjs, 'node_modules', 'netlab-run'));
  const r = await runCli([join(cjs, 'bridge'), '--list'], { cwd: cjs });
  assert.equal(r.exitCode, 2, r.all);
  assert.match(r.stderr, /checks\[\d+\]\.spec: extra\.spec\.ts does not load/);
  assert.match(r.stderr, /fix: spec files are ES modules: add "type": "module" to the package\.json/);
});
