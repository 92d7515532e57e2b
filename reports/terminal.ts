// The lines the CLI prints after a run: one per check, hints under failures, then the score.
import { createColors } from 'picocolors';
import { formatPoints, isHidden } from './format.ts';
import type { CheckResult, RunResult } from './model.ts';
import { terminalSafe } from './terminal-safe.ts';

export interface TerminalOptions {
  color: boolean;
  /** Staff view: hidden checks show their names and hints. */
  showHidden?: boolean;
  /** Adds a "Report: PATH" line. */
  reportPath?: string;
}

const MARK: Record<CheckResult['status'], string> = { passed: '✓', failed: '✗', error: '✗', skipped: '–' };

// Terminal text for a run (no trailing newline); colours only when opts.color.
export function formatTerminalSummary(result: RunResult, opts: TerminalOptions): string {
  const c = createColors(opts.color);
  const paint = { passed: c.green, failed: c.red, error: c.yellow, skipped: c.dim } as const;
  const rows = result.checks.map((check) => {
    const hidden = isHidden(check) && !opts.showHidden;
    return { check, hidden, name: hidden ? 'hidden check' : terminalSafe(check.name), points: `${formatPoints(check.points)}/${formatPoints(check.maxPoints)}` };
  });
  const nameWidth = Math.min(60, Math.max(0, ...rows.map((r) => r.name.length)));
  const pointsWidth = Math.max(0, ...rows.map((r) => r.points.length));
  const lines: string[] = [];
  const head = terminalSafe(`${result.lab.title || result.lab.name} · ${result.kernel.name}${result.submission ? ` · ${result.submission.label}` : ''}`);
  lines.push(c.bold(head));
  for (const { check, hidden, name, points } of rows) {
    const status = hidden ? 'skipped' : check.status;
    const mark = hidden ? '–' : MARK[check.status];
    const label = name.length > nameWidth ? `${name.slice(0, nameWidth - 1)}…` : name.padEnd(nameWidth);
    lines.push(`  ${paint[status](mark)} ${hidden ? c.dim(label) : label}  ${points.padStart(pointsWidth)}`);
    if (hidden) continue;
    const detail: string[] = [];
    if (check.status === 'failed' && check.hint) detail.push(`hint: ${check.hint}`);
    if (check.status === 'failed' && (check.expected || check.got)) detail.push(`expected ${check.expected || '–'}, got ${check.got || '–'}`);
    if (check.reason && check.status !== 'passed') detail.push(check.reason);
    // got and reason carry guest output.
    for (const d of detail) lines.push(c.dim(`      ${terminalSafe(d).replace(/\n/g, '\n      ')}`));
  }
  if (result.error) lines.push(c.yellow(`  run error: ${terminalSafe(result.error.split('\n')[0]!)}`));
  const score = `Score: ${formatPoints(result.score)}/${formatPoints(result.maxScore)}`;
  const paintScore = result.status === 'passed' ? c.green : result.status === 'error' ? c.yellow : c.red;
  lines.push(c.bold(paintScore(score)));
  if (opts.reportPath) lines.push(`Report: ${opts.reportPath}`);
  return lines.join('\n');
}
