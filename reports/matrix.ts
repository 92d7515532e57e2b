// The kernel matrix of a run: labs × kernels, one cell per unit (matrix.json, matrix.html), and how it
// compares with a baseline (last night's matrix.json, or one summary.json): which cells regressed,
// which were fixed, which fail as before. Pure: builds and compares, reads and writes nothing.
import { createColors } from 'picocolors';
import { formatPoints } from './format.ts';
import type { CheckStatus } from './model.ts';
import type { Summary } from './summary.ts';

/** pass: every check passed; fail: some check failed; skip: every check was skipped; error: infrastructure. */
export type CellStatus = 'pass' | 'fail' | 'skip' | 'error';
const FAILING: readonly CellStatus[] = ['fail', 'error'];

export interface MatrixCell {
  /** The unit, e.g. bridge@debian-bookworm. */
  unit: string;
  lab: string;
  labTitle: string;
  /** The kernel as named on the command line or in netlab.config.yaml (debian:bookworm). */
  kernel: string;
  /** What the guest's `uname -r` said ("unknown" when no machine booted). */
  kernelVersion: string;
  imageRecipeHash: string;
  status: CellStatus;
  score: number;
  maxScore: number;
  /** Wall time of the unit, first test start to last test end. */
  durationMs: number;
  /** Ids of the checks that failed or errored, in lab order. */
  failedChecks: string[];
  /** Every check's status by id: what a later baseline comparison reads. */
  checks: Record<string, CheckStatus>;
  /** The unit's report, relative to the matrix's folder (null: none was written). */
  report: string | null;
  error?: string;
  /** How the cell compares with the baseline (only with --baseline). */
  change?: CellChange;
}

export interface CellChange {
  /** The cell's status in the baseline; absent when the baseline had no such lab × kernel. */
  was: CellStatus | 'absent';
  /**
   * regressed: passed in the baseline, fails (or errors) now; fixed: failed (or errored) in the
   * baseline, passes now; known: failing in both; new: not in the baseline; same: anything else.
   */
  mark: 'regressed' | 'fixed' | 'known' | 'new' | 'same';
  /** Checks that passed in the baseline and fail or error now. */
  regressedChecks: string[];
  /** Checks that failed or errored in the baseline and pass now. */
  fixedChecks: string[];
}

/** A cell named in the comparison lists. */
export interface CellRef { unit: string; lab: string; kernel: string; was: CellStatus | 'absent'; now: CellStatus; checks: string[] }

export interface BaselineComparison {
  /** The baseline file, as given. */
  source: string;
  /** When the baseline run was made, if it says. */
  generatedAt?: string;
  /** Cells that passed and fail now, and failing cells in which a check that passed fails now (checks: those). */
  regressed: CellRef[];
  /** Cells that failed and pass now (checks: the checks that pass again). */
  fixed: CellRef[];
  /** Cells that fail now and failed in the baseline too, with no newly failing check. */
  known: CellRef[];
  /** Cells that fail now and were not in the baseline (or skipped there). */
  newFailures: CellRef[];
  /** Lab × kernel pairs of the baseline that this run did not have. */
  missing: { lab: string; kernel: string; was: CellStatus }[];
}

export interface Matrix {
  format: 'netlab-run matrix';
  schemaVersion: 1;
  generatedAt: string;
  /** Rows, sorted by name. */
  labs: { name: string; title: string }[];
  /** Columns, oldest Debian release first, with the versions the cells booted. */
  kernels: { name: string; versions: string[] }[];
  cells: MatrixCell[];
  totals: Record<CellStatus, number>;
  baseline?: BaselineComparison;
}

/** One unit's summary.json and where its report is. */
export interface MatrixInput { unit: string; summary: Summary; report: string | null }

/** A cell of a baseline: only what the comparison needs. */
export interface BaselineCell { lab: string; kernel: string; status: CellStatus; checks: Record<string, CheckStatus> }
export interface Baseline { source: string; generatedAt?: string; cells: BaselineCell[] }

// Oldest first, so columns read as history; other kernels follow by name.
const RELEASE_ORDER = ['buster', 'bullseye', 'bookworm', 'trixie', 'forky', 'sid'];

// debian:bookworm and debian:bookworm:cloud are the same kernel.
export function canonicalKernel(name: string): string {
  return name.trim().replace(/^(debian:[a-z]+):cloud$/, '$1');
}

function kernelRank(name: string): number {
  const m = /^debian:([a-z]+)/.exec(canonicalKernel(name));
  const i = m ? RELEASE_ORDER.indexOf(m[1]!) : -1;
  return i < 0 ? RELEASE_ORDER.length : i;
}
const byKernel = (a: string, b: string) => kernelRank(a) - kernelRank(b) || a.localeCompare(b);
const key = (lab: string, kernel: string) => `${lab}\u0000${canonicalKernel(kernel)}`;

// A unit's status as a cell: a unit that passed with every check skipped did not test anything.
export function cellStatus(s: Pick<Summary, 'status' | 'checks'>): CellStatus {
  if (s.status === 'error') return 'error';
  if (s.status === 'failed') return 'fail';
  return s.checks.length > 0 && s.checks.every((c) => c.status === 'skipped') ? 'skip' : 'pass';
}

// The cell of one unit, from its (staff) summary.json.
export function cellFromSummary(input: MatrixInput): MatrixCell {
  const s = input.summary;
  return {
    unit: input.unit, lab: s.lab.name, labTitle: s.lab.title,
    kernel: s.kernel.name, kernelVersion: s.kernel.version, imageRecipeHash: s.imageRecipeHash,
    status: cellStatus(s), score: s.score, maxScore: s.maxScore, durationMs: s.durationMs,
    failedChecks: s.checks.filter((c) => c.status === 'failed' || c.status === 'error').map((c) => c.id),
    checks: Object.fromEntries(s.checks.map((c) => [c.id, c.status])),
    report: input.report,
    ...(s.error ? { error: s.error } : {}),
  };
}

// The matrix of a run's units; cells sorted by lab, then kernel (so a merged run of shards matches
// the single run cell for cell).
export function buildMatrix(inputs: MatrixInput[], generatedAt = new Date().toISOString()): Matrix {
  const cells = inputs.map(cellFromSummary).sort((a, b) => a.lab.localeCompare(b.lab) || byKernel(a.kernel, b.kernel) || a.unit.localeCompare(b.unit));
  const labs = new Map<string, string>();
  for (const c of cells) if (!labs.has(c.lab)) labs.set(c.lab, c.labTitle);
  const kernels = new Map<string, Set<string>>();
  for (const c of [...cells].sort((a, b) => byKernel(a.kernel, b.kernel))) {
    const k = canonicalKernel(c.kernel);
    if (!kernels.has(k)) kernels.set(k, new Set());
    if (c.kernelVersion && c.kernelVersion !== 'unknown') kernels.get(k)!.add(c.kernelVersion);
  }
  const totals: Record<CellStatus, number> = { pass: 0, fail: 0, skip: 0, error: 0 };
  for (const c of cells) totals[c.status]++;
  return {
    format: 'netlab-run matrix', schemaVersion: 1, generatedAt,
    labs: [...labs].map(([name, title]) => ({ name, title })),
    kernels: [...kernels].map(([name, versions]) => ({ name, versions: [...versions].sort() })),
    cells, totals,
  };
}

// The cells of a baseline file's JSON: a matrix.json (every cell) or a summary.json (one cell).
// Throws an Error saying what the file is not.
export function parseBaseline(json: unknown, source: string): Baseline {
  const o = json as Record<string, unknown> | null;
  if (o && typeof o === 'object' && Array.isArray(o.cells)) {
    const cells = (o.cells as Record<string, unknown>[]).map((c, i): BaselineCell => {
      if (!c || typeof c.lab !== 'string' || typeof c.kernel !== 'string' || !isCellStatus(c.status)) {
        throw new Error(`${source}: cells[${i}] lacks lab, kernel or status; is this a matrix.json of netlab-run?`);
      }
      return { lab: c.lab, kernel: c.kernel, status: c.status, checks: isRecord(c.checks) ? c.checks as Record<string, CheckStatus> : {} };
    });
    return { source, ...(typeof o.generatedAt === 'string' ? { generatedAt: o.generatedAt } : {}), cells };
  }
  if (o && typeof o === 'object' && isRecord(o.lab) && isRecord(o.kernel) && Array.isArray(o.checks) && typeof o.status === 'string') {
    const s = o as unknown as Summary;
    return {
      source, ...(typeof s.startedAt === 'string' ? { generatedAt: s.startedAt } : {}),
      cells: [{ lab: s.lab.name, kernel: s.kernel.name, status: cellStatus(s), checks: Object.fromEntries(s.checks.map((c) => [c.id, c.status])) }],
    };
  }
  throw new Error(`${source} is neither a matrix.json (with cells) nor a summary.json of netlab-run`);
}

const isRecord = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
const isCellStatus = (v: unknown): v is CellStatus => v === 'pass' || v === 'fail' || v === 'skip' || v === 'error';
const bad = (s: CheckStatus | undefined) => s === 'failed' || s === 'error';

// The matrix with every cell marked against the baseline, and the lists of what changed.
export function compareWithBaseline(matrix: Matrix, baseline: Baseline): Matrix {
  const before = new Map(baseline.cells.map((c) => [key(c.lab, c.kernel), c]));
  const cmp: BaselineComparison = { source: baseline.source, ...(baseline.generatedAt ? { generatedAt: baseline.generatedAt } : {}), regressed: [], fixed: [], known: [], newFailures: [], missing: [] };
  const seen = new Set<string>();
  const cells = matrix.cells.map((cell): MatrixCell => {
    const k = key(cell.lab, cell.kernel);
    seen.add(k);
    const old = before.get(k);
    const was = old?.status ?? 'absent';
    const ids = Object.keys(cell.checks);
    const regressedChecks = old ? ids.filter((id) => old.checks[id] === 'passed' && bad(cell.checks[id])) : [];
    const fixedChecks = old ? ids.filter((id) => bad(old.checks[id]) && cell.checks[id] === 'passed') : [];
    const failing = FAILING.includes(cell.status);
    const mark: CellChange['mark'] = !old ? 'new'
      : was === 'pass' && failing ? 'regressed'
      : FAILING.includes(was as CellStatus) && cell.status === 'pass' ? 'fixed'
      : FAILING.includes(was as CellStatus) && failing ? 'known' : 'same';
    const ref = (checks: string[]): CellRef => ({ unit: cell.unit, lab: cell.lab, kernel: cell.kernel, was, now: cell.status, checks });
    if (mark === 'regressed') cmp.regressed.push(ref(regressedChecks.length ? regressedChecks : cell.failedChecks));
    else if (mark === 'known' && regressedChecks.length) cmp.regressed.push(ref(regressedChecks));
    else if (mark === 'known') cmp.known.push(ref(cell.failedChecks));
    else if (mark === 'fixed') cmp.fixed.push(ref(fixedChecks));
    else if (failing) cmp.newFailures.push(ref(cell.failedChecks));
    return { ...cell, change: { was, mark, regressedChecks, fixedChecks } };
  });
  for (const c of baseline.cells) if (!seen.has(key(c.lab, c.kernel))) cmp.missing.push({ lab: c.lab, kernel: c.kernel, was: c.status });
  return { ...matrix, cells, baseline: cmp };
}

/** The cell of a lab × kernel, if the run had it. */
export function cellAt(matrix: Matrix, lab: string, kernel: string): MatrixCell | undefined {
  return matrix.cells.find((c) => c.lab === lab && canonicalKernel(c.kernel) === canonicalKernel(kernel));
}

export interface MatrixTerminalOptions { color: boolean; /** Adds a "matrix: PATH" line. */ path?: string }

// The matrix as a few terminal lines: the grid, then what changed against the baseline.
export function formatMatrixTerminal(m: Matrix, opts: MatrixTerminalOptions): string {
  const c = createColors(opts.color);
  const paint = { pass: c.green, fail: c.red, error: c.yellow, skip: c.dim } as const;
  const counts = (Object.keys(m.totals) as CellStatus[]).filter((s) => m.totals[s]).map((s) => `${m.totals[s]} ${s}`).join(', ');
  const lines = [c.bold(`Kernel matrix: ${m.labs.length} lab${m.labs.length === 1 ? '' : 's'} × ${m.kernels.length} kernel${m.kernels.length === 1 ? '' : 's'}: ${counts}`)];
  const text = (cell: MatrixCell | undefined) => {
    if (!cell) return { plain: '–', shown: c.dim('–') };
    const mark = cell.change?.mark === 'regressed' || cell.change?.regressedChecks.length ? ' ▼' : cell.change?.mark === 'fixed' ? ' ▲' : '';
    const plain = `${cell.status} ${formatPoints(cell.score)}/${formatPoints(cell.maxScore)}${mark}`;
    return { plain, shown: paint[cell.status](plain) };
  };
  const labW = Math.max(3, ...m.labs.map((l) => l.name.length));
  const cols = m.kernels.map((k) => {
    const cells = m.labs.map((l) => text(cellAt(m, l.name, k.name)));
    const sub = k.versions.join(' ') || '?';
    return { head: k.name, sub, cells, w: Math.max(k.name.length, sub.length, ...cells.map((x) => x.plain.length)) };
  });
  const pad = (s: string, plain: string, w: number) => s + ' '.repeat(Math.max(0, w - plain.length));
  lines.push(`  ${' '.repeat(labW)}  ${cols.map((col) => pad(col.head, col.head, col.w)).join('  ')}`.trimEnd());
  lines.push(c.dim(`  ${' '.repeat(labW)}  ${cols.map((col) => pad(col.sub, col.sub, col.w)).join('  ')}`.trimEnd()));
  m.labs.forEach((l, i) => {
    lines.push(`  ${l.name.padEnd(labW)}  ${cols.map((col) => pad(col.cells[i]!.shown, col.cells[i]!.plain, col.w)).join('  ')}`.trimEnd());
  });
  const b = m.baseline;
  if (b) {
    const where = (r: { lab: string; kernel: string }) => `${r.lab} on ${r.kernel}`;
    const list = (refs: CellRef[], verb: string) => refs.map((r) => `${where(r)} (${r.was} → ${r.now}${r.checks.length ? `; ${verb}: ${r.checks.join(', ')}` : ''})`).join('; ');
    lines.push(`baseline ${b.source}${b.generatedAt ? ` (${b.generatedAt.slice(0, 16).replace('T', ' ')})` : ''}: `
      + `${b.regressed.length} regressed, ${b.fixed.length} fixed, ${b.known.length} known failure${b.known.length === 1 ? '' : 's'}, ${b.newFailures.length} new failure${b.newFailures.length === 1 ? '' : 's'}`);
    lines.push(`  ${c.red('regressed:')} ${b.regressed.length ? list(b.regressed, 'now failing') : 'none'}`);
    lines.push(`  ${c.green('fixed:')} ${b.fixed.length ? list(b.fixed, 'passing again') : 'none'}`);
    if (b.known.length) lines.push(`  ${c.yellow('known:')} ${list(b.known, 'failing')}`);
    if (b.newFailures.length) lines.push(`  ${c.red('new failures:')} ${list(b.newFailures, 'failing')}`);
    if (b.missing.length) lines.push(`  ${c.dim('not run:')} ${b.missing.map((x) => `${where(x)} (was ${x.was})`).join('; ')}`);
  }
  if (opts.path) lines.push(`matrix: ${opts.path}`);
  return lines.join('\n');
}

