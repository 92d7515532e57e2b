// Runs in Playwright's runner process, as a reporter: one line per finished check on stderr.
import type { Reporter, Suite, TestCase, TestResult } from '@playwright/test/reporter';
import { createColors } from 'picocolors';
import { unitOf } from './netlab-reporter.ts';
import { NOTE, noteOf } from '../protocol/wire.ts';

// One line per finished check while the run goes, on stderr (stdout carries results, e.g. --json); the graded summary comes from the CLI at the end,
// so failures are explained once, there, with their hints.
export default class ProgressReporter implements Reporter {
  private c = createColors(!process.env.NO_COLOR && !!process.stderr.isTTY);
  private multi = false;

  printsToStdio() { return true; }

  onBegin(_config: unknown, suite: Suite) { this.multi = new Set(suite.allTests().map(unitOf)).size > 1; }

  onTestEnd(test: TestCase, result: TestResult) {
    const kind = noteOf(test.annotations, NOTE.kind);
    const ok = result.status === 'passed';
    const mark = ok ? this.c.green('✓') : result.status === 'skipped' ? this.c.dim('–') : this.c.red('✗');
    const where = this.multi ? this.c.dim(`[${unitOf(test)}] `) : '';
    const secs = this.c.dim(`(${(result.duration / 1000).toFixed(1)} s)`);
    const title = kind === 'check' ? test.title : this.c.dim(test.title);
    process.stderr.write(`  ${mark} ${where}${title} ${secs}\n`);
    if (!ok && kind !== 'check') {
      const msg = result.errors.map((e) => e.message ?? '').join('\n').replace(/\x1b\[[0-9;]*m/g, '').split('\n')[0];
      if (msg) process.stderr.write(`    ${this.c.red(msg)}\n`);
    }
  }
}
