// What autograding hands out: the student's folder (nothing of hidden checks), Gradescope's
// results.json (checked field by field against Gradescope's specification), JUnit XML (validated by
// libxml2 against a JUnit XSD), the gradebook CSV and the staff index page.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderClassIndex } from '../../reports/class-index.ts';
import { sampleResult, XSS } from '../../reports/fixtures/sample-result.ts';
import { csvField, gradebookCsv, rowFromSummary, type GradebookRow } from '../../reports/gradebook.ts';
import { toGradescope } from '../../reports/gradescope.ts';
import { toJUnit } from '../../reports/junit.ts';
import type { RunResult } from '../../reports/model.ts';
import { studentView } from '../../reports/redact.ts';
import { summarize, writeGradescope, writeReport } from '../../reports/summary.ts';
import { GradescopeResults } from '../helpers/gradescope.ts';
import { validateJUnit, xpath } from '../helpers/junit.ts';

/** Strings only the hidden check of the sample carries: none may reach a student. */
const SECRETS = ['VXLAN underlay', 'mtu-secret', '/sys/class/net/br0/mtu', 'mtu 1450'];

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...await filesUnder(p)); else out.push(p);
  }
  return out;
}

test('the student folder names no hidden check; the staff copy has everything', async () => {
  const root = await mkdtemp(join(tmpdir(), 'netlab-redact-'));
  try {
    const r = sampleResult();
    await writeReport(r, join(root, 'student'));
    await writeReport(r, join(root, 'staff'), { showHidden: true });
    for (const f of await filesUnder(join(root, 'student'))) {
      const text = await readFile(f, 'utf8');
      for (const s of SECRETS) assert.ok(!text.includes(s), `${s} leaked into ${f}`);
    }
    const student = JSON.parse(await readFile(join(root, 'student', 'result.json'), 'utf8')) as RunResult;
    const hidden = student.checks[4]!;
    assert.deepEqual(hidden, { id: 'hidden-1', name: 'Hidden check', status: 'passed', points: 2, maxPoints: 2, visibility: 'hidden', expected: '', got: '', durationMs: 22, commands: [] });
    assert.equal(student.score, r.score);
    assert.deepEqual(student.checks[2], r.checks[2], 'visible checks are untouched');
    const staff = await readFile(join(root, 'staff', 'result.json'), 'utf8');
    for (const s of SECRETS) assert.ok(staff.includes(s), `${s} in the staff copy`);
    assert.match(await readFile(join(root, 'staff', 'index.html'), 'utf8'), /VXLAN underlay/);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('studentView leaves a run without hidden checks as it is', () => {
  const r = sampleResult();
  r.checks = r.checks.filter((c) => c.visibility === 'visible');
  assert.deepEqual(studentView(r), r);
});

test('Gradescope results.json follows the specification: score, tests, visibility from the lab', async () => {
  const r = sampleResult();
  r.checks[0]!.group = 'bridge';
  const g = toGradescope(r);
  const parsed = GradescopeResults.safeParse(JSON.parse(JSON.stringify(g)));
  assert.ok(parsed.success, JSON.stringify(!parsed.success && parsed.error.issues));
  assert.equal(g.score, 8);
  assert.equal(g.stdout_visibility, 'hidden', 'autograder stdout names hidden checks');
  assert.deepEqual(g.tests.map((t) => [t.name, t.score, t.max_score, t.status ?? '-', t.visibility]), [
    ['br0 exists and is up', 2, 2, 'passed', 'visible'],
    ['Both veth ends are ports of br0', 2, 2, 'passed', 'visible'],
    ['ns1 reaches ns2 through the bridge', 0, 2, 'failed', 'visible'],
    ['ARP requests cross br0', 2, 2, 'passed', 'visible'],
    ['br0 MTU matches the VXLAN underlay', 2, 2, 'passed', 'hidden'],
    ['STP stays off', 0, 0, '-', 'visible'],
  ]);
  assert.deepEqual(g.tests[0]!.tags, ['run', 'group:bridge', 'id:bridge-up']);
  assert.deepEqual(g.tests[3]!.tags, ['capture', 'id:arp-on-bridge']);
  const failed = g.tests[2]!.output;
  assert.match(failed, /^Traffic must cross br0/);
  assert.match(failed, /Hint: ARP is answered/);
  assert.match(failed, /Expected: exit code 0 \(ping answered\)\nGot: exit code 1 after 3 attempts/);
  assert.match(failed, /\[alpha\]\$ ip netns exec ns2 sysctl -a --pattern icmp\n/);
  // An infrastructure error still gives a valid file that says what happened, and a crash is named.
  const broken = { ...sampleResult(), status: 'error' as const, error: 'host: guest not ready after 90 s', score: 0 };
  assert.match(toGradescope(broken).output, /could not finish running your submission \(host: guest not ready after 90 s\)/);
  const crashed = { ...sampleResult(), submissionRun: { status: 'crashed' as const, detail: '[host] the guest powered off' } };
  assert.match(toGradescope(crashed).output, /Your submission crashed: \[host\] the guest powered off/);
  // A broken grading channel is the submission's doing: named as such, never as the grader's failure.
  const tampered = { ...sampleResult(), submissionRun: { status: 'tampered' as const, detail: '[host] the submission killed its grading agent' } };
  assert.match(toGradescope(tampered).output, /Your submission broke the grader's channel to a machine \(it was flagged\): \[host\] the submission killed/);
  assert.doesNotMatch(toGradescope(tampered).output, /could not finish/);
  const dir = await mkdtemp(join(tmpdir(), 'netlab-gs-'));
  try {
    const file = await writeGradescope(r, dir);
    assert.ok(GradescopeResults.safeParse(JSON.parse(await readFile(file, 'utf8'))).success);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the Gradescope validator itself rejects what the specification does not allow', () => {
  const ok = toGradescope(sampleResult());
  assert.ok(!GradescopeResults.safeParse({ ...ok, visibility: 'students' }).success);
  assert.ok(!GradescopeResults.safeParse({ ...ok, grade: 1 }).success);
  assert.ok(!GradescopeResults.safeParse({ ...ok, tests: [{ ...ok.tests[0], status: 'error' }] }).success);
  assert.ok(!GradescopeResults.safeParse({ tests: [{ name: 'no score anywhere' }] }).success);
});

test('JUnit XML: valid against the JUnit XSD (xmllint); failures, errors and skips where CI expects them', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'netlab-junit-'));
  try {
    const ok = sampleResult();
    const down = { ...sampleResult(), status: 'error' as const, error: 'host: guest not ready <after> 90 s', checks: [] };
    ok.checks[2]!.commands[3]!.stdout += '\u0001\u001b[31mbell\u0007';
    const file = join(dir, 'junit.xml');
    await writeFile(file, toJUnit([{ name: 'alice', result: ok }, { name: 'bob & co', result: down }]));
    const v = await validateJUnit(file);
    assert.ok(v.ok, v.output);
    assert.equal(await xpath(file, 'count(/testsuites/testsuite)'), '2');
    assert.equal(await xpath(file, 'string(/testsuites/@tests)'), '7');
    assert.equal(await xpath(file, 'string(/testsuites/@failures)'), '1');
    assert.equal(await xpath(file, 'string(/testsuites/@errors)'), '1');
    assert.equal(await xpath(file, 'string(/testsuites/@skipped)'), '1');
    assert.equal(await xpath(file, 'string(//testcase[failure]/@name)'), 'ns1 reaches ns2 through the bridge');
    assert.match(await xpath(file, 'string(//testcase[failure]/failure/@message)'), /^expected exit code 0 \(ping answered\), got exit code 1/);
    assert.equal(await xpath(file, 'string(//testsuite[@name="bob & co"]/testcase/error/@message)'), 'host: guest not ready <after> 90 s');
    assert.equal(await xpath(file, 'string(//testsuite[@name="alice"]/properties/property[@name="score"]/@value)'), '8');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

const row = (student: string, over: Partial<GradebookRow> = {}): GradebookRow => ({
  student, status: 'graded', score: 3, maxScore: 4, checks: { a: 1, b: 2 }, durationMs: 12_340, report: `${student}/index.html`, staffReport: `staff/${student}/index.html`, ...over,
});

test('gradebook.csv: a row per student, points per check, RFC 4180 quoting, no spreadsheet formulas', () => {
  const csv = gradebookCsv([
    row('alice'),
    row('=HYPERLINK("x")', { status: 'timeout', score: 0, checks: { a: 0, b: 0 }, detail: '[host] bash x.sh, "quoted"\nsecond line' }),
    row('carol', { status: 'error', score: null, maxScore: null, checks: {}, durationMs: null, detail: 'not graded' }),
    row('dan', { score: 1.5, checks: { a: 0.5 }, tampered: '[host] the agent was killed' }),
  ], ['a', 'b']);
  assert.equal(csv, [
    'student,score,max,a,b,duration_s,status,detail,tampered',
    'alice,3,4,1,2,12.3,graded,,',
    '"\'=HYPERLINK(""x"")",0,4,0,0,12.3,timeout,"[host] bash x.sh, ""quoted""",',
    'carol,,,,,,error,not graded,',
    'dan,1.5,4,0.5,,12.3,graded,,[host] the agent was killed',
    '',
  ].join('\r\n'));
  assert.equal(csvField('-1+2'), "'-1+2");
  assert.equal(csvField(-1), '-1');
});

test('a student\'s row: status from how the submission ran; not graded means no score', () => {
  const s = summarize(sampleResult());
  const links = { report: 'a/index.html', staffReport: 'staff/a/index.html' };
  assert.equal(rowFromSummary('a', s, links).status, 'graded');
  assert.deepEqual(rowFromSummary('a', s, links).checks, { 'bridge-up': 2, 'veth-enslaved': 2, 'ping-ns': 0, 'arp-on-bridge': 2, 'mtu-secret': 2, 'stp-off': 0 });
  for (const st of ['failed', 'timeout', 'crashed', 'tampered'] as const) {
    const r = rowFromSummary('a', { ...s, submissionStatus: st, submissionDetail: `it ${st}` }, links);
    assert.deepEqual([r.status, r.score, r.detail], [st, 8, `it ${st}`]);
  }
  const err = rowFromSummary('a', { ...s, status: 'error', error: 'boot failed' }, links);
  assert.deepEqual([err.status, err.score, err.maxScore, err.detail], ['error', null, null, 'boot failed']);
});

test('the staff index: every student, linked reports, escaped names, no script, nothing external', () => {
  const html = renderClassIndex({
    lab: { name: 'bridge', title: `Bridge ${XSS}` }, generatedAt: '2025-03-14T09:26:53.000Z',
    checks: [{ id: 'a', name: 'check a', maxPoints: 1 }, { id: 'b', name: 'check b', maxPoints: 2 }],
    rows: [row('alice'), row(`eve${XSS}`, { report: 'javascript:alert(1)', status: 'crashed', detail: 'powered off' }), row('carol', { status: 'error', score: null, maxScore: null })],
  });
  assert.ok(!html.includes(XSS));
  assert.ok(!/<script/i.test(html));
  assert.ok(!html.includes('javascript:'));
  assert.ok(!/https?:\/\//.test(html.replace(/<meta[^>]*>/g, '')));
  assert.match(html, /<a href="alice\/index\.html">alice<\/a>/);
  assert.match(html, /<a href="staff\/alice\/index\.html">full report<\/a>/);
  assert.equal((html.match(/data-testid="student"/g) ?? []).length, 3);
  assert.match(html, /data-student="carol" data-status="error"/);
  assert.match(html, /mean <strong>3<\/strong> \/ 4, median <strong>3<\/strong>/);
  assert.match(html, /<a href="gradebook\.csv">/);
});
