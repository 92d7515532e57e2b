// Small formatting helpers shared by the HTML and terminal reports.
import type { CheckResult } from './model.ts';

// "412 ms", "6.2 s", "2 min 8 s": short and stable.
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  return h ? `${h} h ${m} min` : `${m} min ${r} s`;
}

// An ISO timestamp as "2025-03-14 09:26 UTC" (UTC, so a report reads the same everywhere).
export function formatDate(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

// Points without float noise: 1.5, 2, 0.33.
export function formatPoints(n: number): string {
  return String(Math.round(n * 100) / 100);
}

// Hidden from students: visibility hidden, or after_due_date (the report is made before the due date).
export function isHidden(check: CheckResult): boolean {
  return check.visibility !== 'visible';
}
