// Grades a lab's reference and every example its lab.yaml declares with one `netlab-run verify` run
// (units in parallel from restored snapshots), as the lab e2e tests do, then reads each example's
// reports back: what a student would get (summary.json, result.json, the terminal summary with its
// hints) and verify's own verdict. The teardown is checked as for a single run.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunResult } from '../../reports/model.ts';
import { formatTerminalSummary } from '../../reports/terminal.ts';
import type { LabVerdict } from '../../runner/orchestrate/verify.ts';
import { runCli } from './cli.ts';
import type { Summary } from './lab-grader.ts';
import { qemuPidsUnder } from './processes.ts';

export type Verified = Awaited<ReturnType<typeof runVerify>>;

async function runVerify(lab: string, timeoutMs: number) {
  const runtimeDir = await mkdtemp(join(tmpdir(), 'netlab-e2e-rt-'));
  const out = await mkdtemp(join(tmpdir(), 'netlab-e2e-verify-'));
  const started = Date.now();
  const r = await runCli(['verify', `labs/${lab}`, '--out', out, '--json'], { timeoutMs, env: { NETLAB_RUNTIME_DIR: runtimeDir } });
  process.stderr.write(`verify ${lab}: ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  assert.deepEqual(qemuPidsUnder(runtimeDir), [], 'no qemu left behind');
  assert.deepEqual(existsSync(runtimeDir) ? readdirSync(runtimeDir) : [], [], 'no run folder left behind');
  let doc: { exitCode: number; labs: LabVerdict[] };
  try { doc = JSON.parse(r.stdout); } catch { return assert.fail(`verify printed no JSON (exit ${r.exitCode}):\n${r.all}`); }
  const verdict = doc.labs[0]!;
  // One submission's reports, as a student gets them (the folder a single run writes to --out).
  const example = (name: string) => {
    const dir = join(out, lab, name);
    assert.ok(existsSync(join(dir, 'index.html')), `${name}: no report`);
    const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as Summary;
    const result = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as RunResult;
    return {
      dir, summary, result, verdict: verdict.examples.find((e) => e.name === name),
      failed: summary.checks.filter((c) => c.status !== 'passed').map((c) => c.id).sort(),
      /** What the CLI prints for this run: one line per check, hints under failures, the score. */
      terminal: formatTerminalSummary(result, { color: false }),
    };
  };
  return { r, out, doc, verdict, example };
}

/** Runs verify once for the lab, however many tests ask. */
export function labVerifier(lab: string, opts: { timeoutMs?: number } = {}): () => Promise<Verified> {
  let run: Promise<Verified> | undefined;
  return () => (run ??= runVerify(lab, opts.timeoutMs ?? 600_000));
}

/**
 * verify exits 0 with every submission as declared, and lab.yaml declares exactly the test's table:
 * the reference first (full marks), then each example's score and failing checks.
 */
export function assertVerified({ r, verdict }: Verified, max: number, mistakes: [string, number, string[], ...unknown[]][]): void {
  assert.equal(r.exitCode, 0, r.all);
  assert.equal(verdict.maxScore, max);
  assert.deepEqual(verdict.examples.map((e) => [e.name, e.verdict, e.score, e.maxScore]),
    [['reference', 'match', max, max], ...mistakes.map(([file, score]) => [file.replace(/\.sh$/, ''), 'match', score, max])]);
  assert.deepEqual(verdict.examples.slice(1).map((e) => [e.file, e.expected.score, [...e.expected.failed ?? []].sort()]),
    mistakes.map(([file, score, failed]) => [`examples/${file}`, score, [...failed].sort()]));
}

/** Full marks: status passed, score = max, and the summary a student reads says so. */
export function assertFullMarks(ex: ReturnType<Verified['example']>, max: number): void {
  assert.equal(ex.summary.status, 'passed');
  assert.equal(ex.summary.score, max);
  assert.equal(ex.summary.maxScore, max);
  assert.match(ex.terminal, new RegExp(`Score: ${max}/${max}`));
}

/** A graded mistake: status failed, exactly this score of max, exactly these checks not passed. */
export function assertPartial(ex: ReturnType<Verified['example']>, score: number, max: number, failedIds: string[]): void {
  assert.equal(ex.summary.status, 'failed');
  assert.equal(ex.summary.score, score);
  assert.equal(ex.summary.maxScore, max);
  assert.deepEqual(ex.failed, [...failedIds].sort());
}

/** None of these examples' reports (student copies) says the run was flagged `tampered`. */
export function assertNotTampered(v: Verified, names: string[]): void {
  for (const name of names) {
    const html = readFileSync(join(v.example(name).dir, 'index.html'), 'utf8');
    assert.ok(!html.includes('data-testid="tampered"'), `${name} was flagged`);
  }
}

/** One test per typical mistake: its exact score, the checks it fails, and a hint that names the fix. */
export function testMistakes(verified: () => Promise<Verified>, max: number, mistakes: [string, number, string[], RegExp][]): void {
  for (const [file, score, failed, hint] of mistakes) {
    test(`a typical mistake (${file}) grades ${score}/${max} with the failing checks named and a hint`, async () => {
      const ex = (await verified()).example(file.replace(/\.sh$/, ''));
      assertPartial(ex, score, max, failed);
      assert.match(ex.terminal, /hint: /);
      assert.match(ex.terminal, hint);
    });
  }
}
