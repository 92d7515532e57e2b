// summary.json, the report folder, and the CLI's terminal summary.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sampleResult } from '../../reports/fixtures/sample-result.ts';
import { studentView } from '../../reports/redact.ts';
import { summarize, writeReport } from '../../reports/summary.ts';
import { formatTerminalSummary } from '../../reports/terminal.ts';

test('summary.json holds the verdict, every check and every capture count', () => {
  const s = summarize(sampleResult());
  assert.equal(s.lab.name, 'bridge');
  assert.deepEqual(s.kernel, { name: 'debian-6.1', version: '6.1.0-28-amd64' });
  assert.equal(s.imageRecipeHash, '3f9a1c7e5b2d4a60');
  assert.equal(s.accel, 'kvm');
  assert.deepEqual([s.status, s.score, s.maxScore, s.durationMs], ['failed', 8, 10, 48_217]);
  assert.deepEqual(s.checks[2], { id: 'ping-ns', name: 'ns1 reaches ns2 through the bridge', status: 'failed', points: 0, maxPoints: 2, durationMs: 9_231, visibility: 'visible' });
  assert.equal(s.checks[4]!.visibility, 'hidden');
  assert.deepEqual(s.captures, [{ name: 'br', packetCount: 6 }, { name: 'wan', packetCount: 0, error: s.captures[1]!.error }]);
  assert.ok(!('commands' in s.checks[0]!));
});

test('writeReport creates the folder with index.html, summary.json and result.json', async () => {
  const root = await mkdtemp(join(tmpdir(), 'netlab-summary-'));
  try {
    const out = join(root, 'deep', 'bridge');
    const r = sampleResult();
    const files = await writeReport(r, out);
    assert.deepEqual(files, { dir: out, html: join(out, 'index.html'), summary: join(out, 'summary.json'), result: join(out, 'result.json') });
    // The folder is the student's: the hidden check keeps its points and status, nothing else.
    const shown = JSON.parse(await readFile(files.result, 'utf8'));
    assert.deepEqual(shown, studentView(r));
    assert.notDeepEqual(shown, r);
    assert.equal(JSON.parse(await readFile(files.summary, 'utf8')).score, 8);
    assert.match(await readFile(files.html, 'utf8'), /^<!doctype html>/);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('terminal summary: a line per check, hints under failures, the score; no colour unless asked', () => {
  const text = formatTerminalSummary(sampleResult(), { color: false });
  assert.ok(!text.includes('\x1b['));
  const lines = text.split('\n');
  assert.equal(lines[0], 'Linux bridge between two namespaces · debian-6.1 · alice (solution.sh)');
  assert.match(lines[1]!, /^ {2}✓ br0 exists and is up +2\/2$/);
  const failed = lines.findIndex((l) => l.includes('✗ ns1 reaches ns2 through the bridge'));
  assert.match(lines[failed]!, /0\/2$/);
  assert.match(lines[failed + 1]!, /^ {6}hint: ARP is answered/);
  assert.match(lines[failed + 2]!, /^ {6}expected exit code 0 \(ping answered\), got exit code 1/);
  assert.ok(lines.some((l) => /^ {2}– hidden check +2\/2$/.test(l)));
  assert.ok(!text.includes('VXLAN underlay'));
  assert.ok(lines.some((l) => /^ {2}– STP stays off +0\/0$/.test(l)));
  assert.equal(lines.at(-1), 'Score: 8/10');
  // points line up in one column
  const ends = lines.filter((l) => /^ {2}[✓✗–] /.test(l)).map((l) => l.length);
  assert.equal(new Set(ends).size, 1);
});

test('terminal summary: colours, staff view, report path', () => {
  const text = formatTerminalSummary(sampleResult(), { color: true, showHidden: true, reportPath: 'netlab-report/bridge/index.html' });
  assert.ok(text.includes('\x1b[32m✓\x1b[39m'));
  assert.ok(text.includes('\x1b[31m✗\x1b[39m'));
  assert.ok(text.includes('VXLAN underlay'));
  assert.equal(text.split('\n').at(-1), 'Report: netlab-report/bridge/index.html');
});
