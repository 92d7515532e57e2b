// Example submissions (`examples:` in lab.yaml) and `netlab-run verify` without VMs: what the loader
// rejects, how a grade is compared with its declaration, how submissions are named and reported.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Summary } from '../../reports/summary.ts';
import { compareExample, exampleProblems, labMaxScore } from '../../runner/lab/examples.ts';
import { LabError, loadLab } from '../../runner/lab/load.ts';
import { formatPath } from '../../runner/lab/schema.ts';
import { formatVerify, planVerify, type LabVerdict } from '../../runner/orchestrate/verify.ts';
import { runCli } from '../helpers/cli.ts';
import { labIssues, validLab } from '../helpers/schema.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures/labs/', import.meta.url));

const base = () => ({
  name: 'bridge', title: 'T', machines: { host: null },
  submission: { file: 'bridge.sh', run: 'bash bridge.sh', on: 'host', reference: 'solution/bridge.sh' },
  checks: [
    { name: 'ping one', id: 'ping-1', on: 'host', run: 'true', points: 3, group: 'reach' },
    { name: 'ping two', id: 'ping-2', on: 'host', run: 'true', points: 3, group: 'reach' },
    { name: 'addresses', on: 'host', run: 'true', points: 2 },
  ],
  groups: { reach: { max: 4 } },
}) as Record<string, any>;

const problems = (examples: unknown[], patch: Record<string, unknown> = {}) =>
  exampleProblems(validLab({ ...base(), ...patch, examples })).map((i) => `${formatPath(i.path)}: ${i.message}${i.fix ? ` | ${i.fix}` : ''}`);

test('examples: file and score required, failed optional; unknown keys and bad values are named', () => {
  const lab = validLab({ ...base(), examples: [{ file: 'examples/a.sh', score: 2 }, { file: 'examples/b.sh', score: 0, failed: ['addresses'] }] });
  assert.deepEqual(lab.examples, [{ file: 'examples/a.sh', score: 2 }, { file: 'examples/b.sh', score: 0, failed: ['addresses'] }]);
  assert.deepEqual(validLab(base()).examples, []);
  const issues = labIssues({ ...base(), examples: [{ file: 'a.sh', score: -1, failed: 'addresses', scroe: 1 }, { score: 1 }] })
    .map((i) => `${formatPath(i.path)}: ${i.message}`);
  assert.ok(issues.some((i) => /^examples\[0\]\.score: expected a number ≥ 0/.test(i)), issues.join('\n'));
  assert.ok(issues.some((i) => /^examples\[0\]\.failed: expected a list/.test(i)), issues.join('\n'));
  assert.ok(issues.some((i) => /^examples\[0\]\.scroe: unknown key "scroe"/.test(i)), issues.join('\n'));
  assert.ok(issues.some((i) => /^examples\[1\]\.file: missing \(required\)/.test(i)), issues.join('\n'));
});

test('the lab\'s maximum counts every check, with group caps', () => {
  assert.equal(labMaxScore(validLab(base())), 6); // reach: 3 + 3 capped at 4, and 2
  assert.equal(labMaxScore(validLab({ ...base(), groups: { reach: { max: 10 } } })), 8);
});

test('example cross-references: a score above the maximum, unknown or repeated check ids, a file listed twice, no submission', () => {
  assert.deepEqual(problems([{ file: 'examples/a.sh', score: 6, failed: [] }, { file: 'examples/b.sh', score: 2, failed: ['ping-1', 'ping-2'] }]), []);
  assert.deepEqual(problems([{ file: 'examples/a.sh', score: 7 }]), ['examples[0].score: score 7 is more than the lab\'s maximum, 6 | give the score it must get, at most 6']);
  assert.deepEqual(problems([{ file: 'examples/a.sh', score: 1, failed: ['ping-3', 'addresses', 'addresses', 'nothing-like-it'] }]), [
    'examples[0].failed[0]: no check with id "ping-3" | did you mean "ping-1"?',
    'examples[0].failed[2]: check "addresses" is listed twice | list each check once',
    'examples[0].failed[3]: no check with id "nothing-like-it" | use a check id: `netlab-run bridge --list --json` shows them, or see the ids in a report',
  ]);
  assert.deepEqual(problems([{ file: 'examples/a.sh', score: 1 }, { file: './examples/a.sh', score: 2 }]), ['examples[1].file: examples[0] already lists ./examples/a.sh | list each example once']);
  const { submission: _, ...noSubmission } = base();
  assert.deepEqual(exampleProblems(validLab({ ...noSubmission, examples: [{ file: 'a.sh', score: 1 }] })).map((i) => formatPath(i.path)), ['examples']);
});

test('the loader: a missing example file and a score above the maximum are lab errors with file, line and fix', async () => {
  const dir = join(FIXTURES, 'missing-example');
  const text = await readFile(join(dir, 'lab.yaml'), 'utf8');
  const lineOf = (needle: string) => text.split('\n').findIndex((l) => l.includes(needle)) + 1;
  const err = await loadLab(dir).then(() => assert.fail('expected a LabError'), (e: unknown) => e);
  assert.ok(err instanceof LabError);
  assert.equal(err.exitCode, 2);
  const shown = relative(process.cwd(), join(dir, 'lab.yaml'));
  assert.match(err.message, new RegExp(`^${shown}:${lineOf('examples/forgot.sh')}:\\d+: examples\\[0\\]\\.file: no file examples/forgot.sh in the lab folder ${relative(process.cwd(), dir)}\n  fix: add the example submission there`, 'm'));
  assert.match(err.message, new RegExp(`^${shown}:${lineOf('score: 3')}:\\d+: examples\\[1\\]\\.score: score 3 is more than the lab's maximum, 2`, 'm'));
  assert.match(err.message, new RegExp(`^${shown}:${lineOf('[frist]')}:\\d+: examples\\[1\\]\\.failed\\[0\\]: no check with id "frist"\n  fix: did you mean "first"\\?`, 'm'));
  // The documented full example loads with its example.
  const full = await loadLab(join(FIXTURES, 'valid-full'));
  assert.deepEqual(full.lab.examples, [{ file: 'examples/no-gateway.sh', score: 9, failed: ['br00-has-the-gateway-address'] }]);
});

const summary = (score: number, maxScore: number, checks: [string, string][], extra: Partial<Summary> = {}): Summary => ({
  schemaVersion: 1, lab: { name: 'l', title: 't' }, kernel: { name: 'k', version: 'v' }, imageRecipeHash: 'h', accel: 'tcg', submission: 's',
  startedAt: '', status: 'failed', score, maxScore, durationMs: 1, captures: [],
  checks: checks.map(([id, status]) => ({ id, name: id, status: status as 'passed', points: 0, maxPoints: 1, durationMs: 1, visibility: 'visible' })), ...extra,
});

test('compare: the score exactly, and with failed, exactly those checks not passing (skipped is neither)', () => {
  const s = summary(16, 17, [['a', 'passed'], ['lo', 'failed'], ['b', 'skipped'], ['c', 'error']]);
  assert.deepEqual(compareExample({ score: 16, failed: ['lo', 'c'] }, s), { verdict: 'match', score: 16, maxScore: 17, failed: ['lo', 'c'], unexpectedFailures: [], unexpectedPasses: [] });
  assert.equal(compareExample({ score: 16 }, s).verdict, 'match');
  const wrong = compareExample({ score: 15, failed: ['lo', 'a'] }, s);
  assert.equal(wrong.verdict, 'differs');
  assert.deepEqual([wrong.unexpectedFailures, wrong.unexpectedPasses], [['c'], ['a']]);
  assert.equal(wrong.detail, 'expected 15, got 16; did not pass, not declared: c; declared in failed, but passed: a');
  // Without failed declared, a wrong score names what did not pass.
  assert.equal(compareExample({ score: 15 }, s).detail, 'expected 15, got 16 (did not pass: lo, c)');
  // Scores with decimals compare to the hundredth, as reports round them.
  assert.equal(compareExample({ score: 0.3 }, summary(0.1 + 0.2, 1, [])).verdict, 'match');
});

test('compare: the reference needs full marks; an ungraded submission is an error, not a difference', () => {
  assert.equal(compareExample({ score: 0, full: true }, summary(21, 21, [['zero-points', 'failed']], { status: 'passed' })).verdict, 'match');
  assert.equal(compareExample({ score: 0, full: true }, summary(20, 21, [['x', 'failed']])).detail, 'expected full marks, 21, got 20 (did not pass: x)');
  assert.deepEqual(compareExample({ score: 3 }, summary(0, 0, [], { status: 'error', error: 'VM did not boot\nmore' })),
    { verdict: 'error', score: null, maxScore: null, failed: [], unexpectedFailures: [], unexpectedPasses: [], detail: 'VM did not boot' });
  assert.equal(compareExample({ score: 3 }, undefined).verdict, 'error');
});

test('plan: the reference first, examples named after their files, unique and clear of the class folder\'s names', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'netlab-verify-plan-'));
  await mkdir(join(dir, 'solution'));
  await mkdir(join(dir, 'a'));
  await mkdir(join(dir, 'b'));
  for (const f of ['solution/bridge.sh', 'a/x.sh', 'b/x.sh', 'staff.sh', 'reference.sh', 'Odd name!.sh']) await writeFile(join(dir, f), 'true\n');
  const yaml = (examples: string) => `name: plan\ntitle: T\nmachines: { host: }\nsubmission: { file: bridge.sh, run: bash bridge.sh, on: host, reference: solution/bridge.sh }\nchecks: [{ name: c, on: host, run: "true", points: 2 }]\n${examples}`;
  await writeFile(join(dir, 'lab.yaml'), yaml('examples:\n' + ['a/x.sh', 'b/x.sh', 'staff.sh', 'reference.sh', 'Odd name!.sh'].map((f) => `  - { file: "${f}", score: 0 }\n`).join('')));
  const loaded = await loadLab(dir);
  const [plan, again] = await planVerify([loaded, loaded]);
  assert.deepEqual(plan!.examples.map((e) => [e.student, e.reference, e.expected]), [
    ['reference', true, { score: 2, full: true }], ['x', false, { score: 0 }], ['x-2', false, { score: 0 }],
    ['staff-2', false, { score: 0 }], ['reference-2', false, { score: 0 }], ['Odd_name_', false, { score: 0 }],
  ]);
  assert.equal(plan!.examples[1]!.path, join(dir, 'a/x.sh'));
  assert.ok(plan!.examples.every((e) => /^[0-9a-f]{64}$/.test(e.hash!)));
  // Two labs of one name: their reports (and units) stay apart.
  assert.deepEqual([plan!.key, again!.key], ['plan', 'plan-2']);

  // Nothing to verify: no reference and no examples.
  await writeFile(join(dir, 'lab.yaml'), yaml('').replace(', reference: solution/bridge.sh', ''));
  await assert.rejects(planVerify([await loadLab(dir)]), /lab plan .* has no reference solution and no examples: nothing to verify/);
  await rm(dir, { recursive: true, force: true });
});

test('the printout: a line per submission, what differs, the verdict; a lab without examples says so', () => {
  const ex = (name: string, verdict: 'match' | 'differs' | 'error', score: number | null, extra: Record<string, unknown> = {}) => ({
    name, file: `examples/${name}.sh`, reference: name === 'reference', expected: { score: 16, failed: ['lo'] }, verdict, score, maxScore: score === null ? null : 17,
    failed: [], unexpectedFailures: [], unexpectedPasses: [], report: `v/veth/${name}/index.html`, staffReport: `v/veth/staff/${name}/index.html`, ...extra,
  });
  const labs: LabVerdict[] = [{
    lab: 'veth', dir: 'labs/veth', maxScore: 17, reports: 'v/veth/index.html', noMistakes: false,
    examples: [ex('reference', 'match', 17), ex('no-lo', 'match', 16), ex('peer-down', 'differs', 8, { detail: 'expected 16, got 8' }), ex('gone', 'error', null, { detail: 'VM did not boot' })],
  }, { lab: 'nat', dir: 'labs/nat', maxScore: 21, reports: 'v/nat/index.html', noMistakes: true, examples: [ex('reference', 'match', 21)] }];
  const text = formatVerify(labs, 69, false);
  assert.match(text, /^veth {2}labs\/veth, 17 points$/m);
  assert.match(text, /^ {2}✓ reference +17\/17 {2}full marks$/m);
  assert.match(text, /^ {2}✓ no-lo +16\/17 {2}expected 16, failing lo$/m);
  assert.match(text, /^ {2}✗ peer-down +8\/17 {2}expected 16, got 8 {2}\(v\/veth\/staff\/peer-down\/index\.html\)$/m);
  assert.match(text, /^ {2}! gone +–\/17 {2}not graded: VM did not boot/m);
  assert.match(text, /^ {2}no mistakes declared: only the reference was graded; list typical mistakes under examples: in labs\/nat\/lab\.yaml$/m);
  assert.match(text, /^verify: 1 of 5 submissions of 2 labs graded otherwise than declared: the lab's checks do not grade its examples as declared$/m);
  assert.match(text, /^verify: 1 of 5 submissions of 2 labs could not be graded \(infrastructure\); run verify again$/m);
  assert.match(formatVerify([labs[1]!], 0, false), /^verify: all 1 submission of 1 lab graded as declared$/m);
});

test('netlab-run verify: a lab error exits 2 with file and line, before any VM boots', async () => {
  const out = await mkdtemp(join(tmpdir(), 'netlab-verify-cli-'));
  const r = await runCli(['verify', 'test/fixtures/labs/missing-example', '--out', out]);
  await rm(out, { recursive: true, force: true });
  assert.equal(r.exitCode, 2, r.all);
  assert.match(r.stderr, /^error: test\/fixtures\/labs\/missing-example\/lab\.yaml:\d+:\d+: examples\[0\]\.file: no file examples\/forgot\.sh/m);
  const none = await runCli(['verify', 'test/fixtures/labs/no-such-lab']);
  assert.equal(none.exitCode, 2);
  const help = await runCli(['verify', '--help']);
  assert.equal(help.exitCode, 0);
  assert.match(help.stdout, /1 the lab's checks do not grade\s+its examples as declared/);
});
