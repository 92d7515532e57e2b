// After a run (or a merge of shards): the kernel matrix of its units (matrix.json, matrix.html in the
// report folder), the comparison with --baseline, its terminal lines and the exit code they make.
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../../reports/write-atomic.ts';
import { join, relative } from 'node:path';
import { renderMatrixHtml } from '../../reports/matrix-html.ts';
import { buildMatrix, compareWithBaseline, formatMatrixTerminal, parseBaseline, type Baseline, type Matrix, type MatrixInput } from '../../reports/matrix.ts';
import type { Summary } from '../../reports/summary.ts';
import { UsageError } from '../errors.ts';
import { EXIT } from '../exit-codes.ts';

/** A finished unit as the netlab reporter lists it. */
export interface MatrixUnit { unit: string; outDir: string; staffDir?: string }

export interface MatrixOptions {
  /** The report folder: matrix.json and matrix.html go there, cells link into it. */
  outDir: string;
  baseline?: Baseline;
  /** With a baseline: failing cells that failed in the baseline too do not fail the run. */
  allowKnown: boolean;
  /** Write the matrix even for a single unit (merge: the same files as the run it merges). */
  always?: boolean;
  color: boolean;
  /** Where the terminal lines go. */
  print: (text: string) => void;
}

// Reads --baseline: a matrix.json or one summary.json; a UsageError (exit 2) when it is neither.
export async function loadBaseline(path: string): Promise<Baseline> {
  let text: string;
  try { text = await readFile(path, 'utf8'); } catch {
    throw new UsageError(`--baseline: cannot read ${path}`, 'give the matrix.json (or a summary.json) of an earlier run');
  }
  try {
    return parseBaseline(JSON.parse(text), path);
  } catch (err) {
    throw new UsageError(`--baseline: ${err instanceof SyntaxError ? `${path} is not JSON (${err.message})` : (err as Error).message}`,
      'give the matrix.json (or a summary.json) of an earlier run');
  }
}

// The matrix of the units, from each unit's staff summary.json (hidden checks by their real ids:
// the matrix is for the lab's maintainers, not for students).
export async function matrixOf(units: MatrixUnit[], outDir: string): Promise<Matrix> {
  const inputs: MatrixInput[] = [];
  for (const u of units) {
    let summary: Summary | undefined;
    for (const dir of [u.staffDir ?? join(u.outDir, 'staff'), u.outDir]) {
      try { summary = JSON.parse(await readFile(join(dir, 'summary.json'), 'utf8')) as Summary; break; } catch { /* try the next */ }
    }
    if (!summary) continue; // the reporter wrote nothing for it: the run's own error says why
    inputs.push({ unit: u.unit, summary, report: relative(outDir, join(u.outDir, 'index.html')).split('\\').join('/') });
  }
  return buildMatrix(inputs);
}

// The run's exit code once the baseline is known. Without a baseline it is the run's own code.
// With one: regressions → 1; units that never reported → 69; failures the baseline did not have →
// 1 (69 when infrastructure); only known failures → 0 with allowKnown, else 1.
export function matrixExitCode(runExit: number, m: Matrix, allowKnown: boolean): number {
  const b = m.baseline;
  if (!b || runExit === EXIT.interrupted || runExit === EXIT.usage) return runExit;
  if (b.regressed.length) return EXIT.checksFailed;
  if (runExit === EXIT.unavailable && !m.cells.some((c) => c.status === 'error')) return EXIT.unavailable;
  if (b.newFailures.length) return b.newFailures.some((r) => r.now === 'error') ? EXIT.unavailable : EXIT.checksFailed;
  if (b.known.length) return allowKnown ? EXIT.passed : EXIT.checksFailed;
  return EXIT.passed;
}

// Writes matrix.json and matrix.html when the run had several units or a baseline, prints the
// matrix, and returns the exit code (the run's own, or the baseline's verdict).
export async function finishMatrix(units: MatrixUnit[], runExit: number, o: MatrixOptions): Promise<number> {
  if (units.length <= 1 && !o.baseline && !o.always) return runExit;
  if (units.length === 0) return runExit;
  let m = await matrixOf(units, o.outDir);
  if (o.baseline) m = compareWithBaseline(m, o.baseline);
  await writeFileAtomic(join(o.outDir, 'matrix.json'), JSON.stringify(m, null, 2) + '\n');
  const html = join(o.outDir, 'matrix.html');
  await writeFileAtomic(html, renderMatrixHtml(m));
  o.print('\n' + formatMatrixTerminal(m, { color: o.color, path: relative(process.cwd(), html) || html }) + '\n');
  return matrixExitCode(runExit, m, o.allowKnown);
}
