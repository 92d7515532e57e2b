// What a Playwright run means for netlab-run's exit code: failing to start is the infrastructure (69,
// with Playwright's words), not an interruption (130), unless the user stopped the run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InfraError } from '../../vm/errors.ts';
import { EXIT } from '../../runner/exit-codes.ts';
import { playwrightOutcome, tailKeeper, type PlaywrightExit } from '../../runner/orchestrate/playwright-outcome.ts';

const base: PlaywrightExit = { resultsText: undefined, exitCode: 1, signal: undefined, stderrTail: '', aborted: false, expectedUnits: 1 };
const unit = (status: 'passed' | 'failed' | 'error') => ({ unit: 'u', outDir: '/o', status, score: 1, maxScore: 2 });

test('Playwright that exits before its reporter wrote results is an infrastructure error with its message', () => {
  const stderr = 'Error: Cannot find module \'@playwright/test\'\nRequire stack:\n- /x/playwright.config.mjs\n';
  assert.throws(() => playwrightOutcome({ ...base, stderrTail: `\x1b[31m${stderr}\x1b[39m` }), (err: unknown) => {
    assert.ok(err instanceof InfraError);
    assert.match(err.message, /^Playwright exited 1 before it graded anything:\nError: Cannot find module '@playwright\/test'/);
    assert.doesNotMatch(err.message, /\x1b/);
    assert.match(err.fix!, /npm ci/);
    return true;
  });
  assert.throws(() => playwrightOutcome({ ...base, exitCode: undefined, signal: 'SIGKILL' }), /Playwright was killed \(SIGKILL\) before it graded anything and printed nothing/);
});

test('a run the user stopped is interrupted, with or without results', () => {
  assert.deepEqual(playwrightOutcome({ ...base, aborted: true }), { exitCode: EXIT.interrupted, units: [], interrupted: true });
  const r = playwrightOutcome({ ...base, aborted: true, resultsText: JSON.stringify({ interrupted: false, units: [unit('passed')] }) });
  assert.equal(r.exitCode, EXIT.interrupted);
});

test('results decide the exit code: passed 0, a failed check 1, a unit in error or missing 69', () => {
  const run = (units: unknown[], expectedUnits = units.length) =>
    playwrightOutcome({ ...base, expectedUnits, resultsText: JSON.stringify({ interrupted: false, units }) }).exitCode;
  assert.equal(run([unit('passed')]), EXIT.passed);
  assert.equal(run([unit('passed'), unit('failed')]), EXIT.checksFailed);
  assert.equal(run([unit('failed'), unit('error')]), EXIT.unavailable);
  assert.equal(run([unit('passed')], 2), EXIT.unavailable);
  assert.equal(playwrightOutcome({ ...base, resultsText: JSON.stringify({ interrupted: true, units: [] }) }).exitCode, EXIT.interrupted);
});

test('the stderr tail keeps only the last characters', () => {
  const t = tailKeeper(10);
  t.push('0123456789');
  t.push(Buffer.from('abc'));
  assert.equal(t.text(), '3456789abc');
});
