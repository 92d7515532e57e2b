// Writes a run's report folder: index.html (people), summary.json (machines), result.json (everything).
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { renderHtml, type HtmlOptions } from './html.ts';
import type { CheckResult, RunResult } from './model.ts';

/** summary.json: the short machine-readable verdict of one run. */
export interface Summary {
  schemaVersion: 1;
  lab: { name: string; title: string };
  kernel: { name: string; version: string };
  imageRecipeHash: string;
  accel: RunResult['accel'];
  submission: string | null;
  startedAt: string;
  status: RunResult['status'];
  error?: string;
  score: number;
  maxScore: number;
  durationMs: number;
  checks: Pick<CheckResult, 'id' | 'name' | 'status' | 'points' | 'maxPoints' | 'durationMs' | 'visibility'>[];
  captures: { name: string; packetCount: number; error?: string }[];
}

// The summary.json object for a run.
export function summarize(r: RunResult): Summary {
  return {
    schemaVersion: 1,
    lab: { name: r.lab.name, title: r.lab.title },
    kernel: { name: r.kernel.name, version: r.kernel.version },
    imageRecipeHash: r.image.recipeHash,
    accel: r.accel,
    submission: r.submission?.label ?? null,
    startedAt: r.startedAt,
    status: r.status,
    ...(r.error ? { error: r.error } : {}),
    score: r.score,
    maxScore: r.maxScore,
    durationMs: r.durationMs,
    checks: r.checks.map((c) => ({
      id: c.id, name: c.name, status: c.status, points: c.points, maxPoints: c.maxPoints, durationMs: c.durationMs, visibility: c.visibility,
    })),
    captures: r.captures.map((c) => ({ name: c.name, packetCount: c.packetCount, ...(c.error ? { error: c.error } : {}) })),
  };
}

// Writes summary.json into outDir (created if missing); returns its path.
export async function writeSummary(result: RunResult, outDir: string): Promise<string> {
  await mkdir(outDir, { recursive: true });
  const file = join(outDir, 'summary.json');
  await writeFile(file, JSON.stringify(summarize(result), null, 2) + '\n');
  return file;
}

export interface ReportFiles { dir: string; html: string; summary: string; result: string }

// Writes the whole report folder: index.html, summary.json and result.json (the full RunResult,
// hidden checks included: hand students index.html, not the folder, when checks are hidden).
export async function writeReport(result: RunResult, outDir: string, opts: HtmlOptions = {}): Promise<ReportFiles> {
  await mkdir(outDir, { recursive: true });
  const html = join(outDir, 'index.html');
  const full = join(outDir, 'result.json');
  await writeFile(html, renderHtml(result, opts));
  await writeFile(full, JSON.stringify(result, null, 2) + '\n');
  const summary = await writeSummary(result, outDir);
  return { dir: outDir, html, summary, result: full };
}
