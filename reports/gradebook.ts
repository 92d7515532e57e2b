// The class gradebook: one row per student, as gradebook.csv (spreadsheets, LMS imports) and as the
// staff index page (reports/class-index.ts). Rows come from each student's staff summary.json.
import type { Summary } from './summary.ts';

/**
 * How grading went for a student: graded (the submission ran and exited 0), failed (it exited
 * non-zero), timeout (stopped at its time limit), crashed (it took a machine down), missing (no
 * submission file), tampered (it broke the grader's channel to a machine: its points are what the
 * checks could still find), error (not graded: the grader's infrastructure failed; grade again).
 */
export type GradeStatus = 'graded' | 'failed' | 'timeout' | 'crashed' | 'tampered' | 'missing' | 'error';

export interface GradebookRow {
  student: string;
  status: GradeStatus;
  /** null when not graded (error). */
  score: number | null;
  maxScore: number | null;
  /** Points per check id, before group caps. */
  checks: Record<string, number>;
  durationMs: number | null;
  /** Why, in words, for anything but graded. */
  detail?: string;
  /** What the submission did to grading, if anything (the staff column `tampered`). */
  tampered?: string;
  /** Student report and staff copy, relative to the gradebook's folder. */
  report?: string;
  staffReport?: string;
}

// A student's row from their staff summary.json.
export function rowFromSummary(student: string, s: Summary, links: { report: string; staffReport: string }): GradebookRow {
  const sub = s.submissionStatus;
  const status: GradeStatus = s.status === 'error' ? 'error'
    : sub === 'crashed' || sub === 'tampered' || sub === 'timeout' || sub === 'failed' ? sub : 'graded';
  const detail = status === 'error' ? s.error : status === 'graded' ? undefined : s.submissionDetail;
  return {
    student, status,
    score: status === 'error' ? null : s.score,
    maxScore: status === 'error' ? null : s.maxScore,
    checks: Object.fromEntries(s.checks.map((c) => [c.id, c.points])),
    durationMs: s.durationMs,
    ...(detail ? { detail } : {}),
    ...(s.tampered?.length ? { tampered: s.tampered.map((t) => `[${t.machine}] ${t.reason}`).join('; ') } : {}),
    ...links,
  };
}

// One CSV field (RFC 4180), with a leading ' on text a spreadsheet would run as a formula.
export function csvField(v: string | number | null | undefined): string {
  if (v === null || v === undefined) return '';
  let s = typeof v === 'number' ? String(Math.round(v * 100) / 100) : v;
  if (typeof v === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

// gradebook.csv: student, score, max, one column of points per check (in lab order), duration in
// seconds, status, detail, tampered (what the submission did to grading: its points are still only
// what it built). Not-graded rows (error) leave score, max and checks empty.
export function gradebookCsv(rows: GradebookRow[], checkIds: string[]): string {
  const head = ['student', 'score', 'max', ...checkIds, 'duration_s', 'status', 'detail', 'tampered'];
  const lines = [head.map(csvField).join(',')];
  for (const r of rows) {
    const graded = r.status !== 'error';
    lines.push([
      r.student, r.score, r.maxScore,
      ...checkIds.map((id) => (graded && r.checks[id] !== undefined ? r.checks[id]! : null)),
      r.durationMs === null ? null : Math.round(r.durationMs / 100) / 10,
      r.status, r.detail?.split('\n')[0] ?? '', r.tampered ?? '',
    ].map(csvField).join(','));
  }
  return lines.join('\r\n') + '\r\n';
}
