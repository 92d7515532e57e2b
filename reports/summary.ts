// Writes a run's report folder: index.html (people), summary.json (machines), result.json (everything
// the viewer may see). A student's folder is written from studentView(): nothing of hidden checks.
import { mkdir } from 'node:fs/promises';
import { writeFileAtomic } from './write-atomic.ts';
import { join } from 'node:path';
import { toGradescope } from './gradescope.ts';
import { renderHtml, type HtmlOptions } from './html.ts';
import type { CheckResult, GroupResult, RunResult, SubmissionRun, TamperNote } from './model.ts';
import { studentView } from './redact.ts';

/** summary.json: the short machine-readable verdict of one run. */
export interface Summary {
  schemaVersion: 1;
  lab: { name: string; title: string };
  kernel: { name: string; version: string; locked?: false };
  imageRecipeHash: string;
  accel: RunResult['accel'];
  submission: string | null;
  startedAt: string;
  status: RunResult['status'];
  error?: string;
  /** How the submission ran: ok, failed (non-zero exit), timeout, crashed, tampered. */
  submissionStatus?: SubmissionRun['status'];
  submissionDetail?: string;
  /** See RunResult.tampered. */
  tampered?: TamperNote[];
  /** See RunResult.inputHash. */
  inputHash?: string;
  groups?: GroupResult[];
  score: number;
  maxScore: number;
  durationMs: number;
  checks: Pick<CheckResult, 'id' | 'name' | 'status' | 'points' | 'maxPoints' | 'durationMs' | 'visibility' | 'group'>[];
  captures: { name: string; packetCount: number; error?: string }[];
}

// The summary.json object for a run.
export function summarize(r: RunResult): Summary {
  return {
    schemaVersion: 1,
    lab: { name: r.lab.name, title: r.lab.title },
    kernel: { name: r.kernel.name, version: r.kernel.version, ...(r.kernel.locked === false ? { locked: false as const } : {}) },
    imageRecipeHash: r.image.recipeHash,
    accel: r.accel,
    submission: r.submission?.label ?? null,
    startedAt: r.startedAt,
    status: r.status,
    ...(r.error ? { error: r.error } : {}),
    ...(r.submissionRun ? { submissionStatus: r.submissionRun.status, ...(r.submissionRun.detail ? { submissionDetail: r.submissionRun.detail } : {}) } : {}),
    ...(r.tampered?.length ? { tampered: r.tampered } : {}),
    ...(r.inputHash ? { inputHash: r.inputHash } : {}),
    ...(r.groups?.length ? { groups: r.groups } : {}),
    score: r.score,
    maxScore: r.maxScore,
    durationMs: r.durationMs,
    checks: r.checks.map((c) => ({
      id: c.id, name: c.name, status: c.status, points: c.points, maxPoints: c.maxPoints, durationMs: c.durationMs, visibility: c.visibility,
      ...(c.group ? { group: c.group } : {}),
    })),
    captures: r.captures.map((c) => ({ name: c.name, packetCount: c.packetCount, ...(c.error ? { error: c.error } : {}) })),
  };
}

// Writes summary.json into outDir (created if missing); returns its path.
export async function writeSummary(result: RunResult, outDir: string): Promise<string> {
  await mkdir(outDir, { recursive: true });
  const file = join(outDir, 'summary.json');
  await writeFileAtomic(file, JSON.stringify(summarize(result), null, 2) + '\n');
  return file;
}

export interface ReportFiles { dir: string; html: string; summary: string; result: string }

// Writes a whole report folder: index.html, summary.json and result.json. By default it is the
// student's folder (studentView: hidden checks reduced to their points); with showHidden it is the
// staff copy, with everything.
export async function writeReport(result: RunResult, outDir: string, opts: HtmlOptions = {}): Promise<ReportFiles> {
  const shown = opts.showHidden ? result : studentView(result);
  await mkdir(outDir, { recursive: true });
  const html = join(outDir, 'index.html');
  const full = join(outDir, 'result.json');
  await writeFileAtomic(html, renderHtml(shown, opts));
  await writeFileAtomic(full, JSON.stringify(shown, null, 2) + '\n');
  // Last: a summary.json means the folder is complete (what --resume trusts).
  const summary = await writeSummary(shown, outDir);
  return { dir: outDir, html, summary, result: full };
}

// Writes Gradescope's results.json for a run into dir; returns its path.
export async function writeGradescope(result: RunResult, dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const file = join(dir, 'results.json');
  await writeFileAtomic(file, JSON.stringify(toGradescope(result), null, 2) + '\n');
  return file;
}
