// What netlab-run concludes from the Playwright process it ran: the results its reporter left, or,
// when there are none, why not. Playwright that never got to its reporters (a config it cannot load,
// a module it cannot resolve, a crash) is the infrastructure failing, exit 69 with Playwright's own
// words; only a run the user stopped is "interrupted".
import { InfraError } from '../../vm/errors.ts';
import { EXIT } from '../exit-codes.ts';
import type { UnitOutcome } from './run.ts';

export interface PlaywrightExit {
  /** The results file's text, or undefined when the reporter never wrote it. */
  resultsText: string | undefined;
  exitCode: number | undefined;
  signal: string | undefined;
  /** The last lines Playwright wrote to stderr. */
  stderrTail: string;
  /** The user (Ctrl-C, SIGTERM) stopped the run. */
  aborted: boolean;
  /** Units this run was to grade (a shard's own, with --shard). */
  expectedUnits: number;
}

export function playwrightOutcome(p: PlaywrightExit): { exitCode: number; units: UnitOutcome[]; interrupted: boolean } {
  let results: { interrupted: boolean; units: UnitOutcome[] } | undefined;
  try { results = p.resultsText === undefined ? undefined : JSON.parse(p.resultsText); } catch { results = undefined; }
  if (!results) {
    if (p.aborted) return { exitCode: EXIT.interrupted, units: [], interrupted: true };
    const how = p.signal ? `was killed (${p.signal})` : `exited ${p.exitCode ?? '?'}`;
    const said = lastLines(p.stderrTail, 6);
    throw new InfraError(`Playwright ${how} before it graded anything${said ? `:\n${said}` : ' and printed nothing'}`, {
      fix: 'check that @playwright/test is installed beside netlab-run (npm ci), then run again with -v',
    });
  }
  const interrupted = p.aborted || results.interrupted;
  const exitCode = interrupted ? EXIT.interrupted
    : results.units.length < p.expectedUnits || results.units.some((u) => u.status === 'error') ? EXIT.unavailable
    : results.units.some((u) => u.status === 'failed') ? EXIT.checksFailed : EXIT.passed;
  return { exitCode, units: results.units, interrupted };
}

function lastLines(text: string, n: number): string {
  const plain = text.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '');
  return plain.split('\n').map((l) => l.trimEnd()).filter((l) => l.trim().length > 0).slice(-n).join('\n');
}

/** Keeps the last `max` characters written to a stream while passing everything through. */
export function tailKeeper(max = 8192): { push: (chunk: Buffer | string) => void; text: () => string } {
  let buf = '';
  return {
    push: (chunk) => { buf = (buf + chunk.toString()).slice(-max); },
    text: () => buf,
  };
}
