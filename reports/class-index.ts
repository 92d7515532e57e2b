// The staff index of a class run (<out>/index.html): every student with status, score, points per
// check, duration, and links to the student's report and its staff copy. Self-contained like the
// run report: inline CSS, no script, no external URL, a CSP that allows nothing else.
import { formatDate, formatDuration, formatPoints } from './format.ts';
import { htmlDocument } from './html-document.ts';
import { esc, safeRelativeHref } from './html-escape.ts';
import type { GradebookRow, GradeStatus } from './gradebook.ts';

export interface ClassIndex {
  lab: { name: string; title: string };
  generatedAt: string;
  /** Check ids and names, in lab order (staff page: hidden ones too). */
  checks: { id: string; name: string; maxPoints: number }[];
  rows: GradebookRow[];
}

const CSS = `
:root { --bg:#f6f7f9; --card:#fff; --text:#1f2328; --muted:#656d76; --border:#d8dee4; --pass:#1a7f37; --pass-bg:#dafbe1;
  --fail:#cf222e; --fail-bg:#ffebe9; --warn:#9a6700; --warn-bg:#fff8c5; --soft:#eef1f4; --accent:#0969da; }
@media (prefers-color-scheme: dark) { :root { --bg:#0d1117; --card:#161b22; --text:#e6edf3; --muted:#8d96a0; --border:#30363d;
  --pass:#3fb950; --pass-bg:#12261e; --fail:#f85149; --fail-bg:#2d1417; --warn:#d29922; --warn-bg:#2b2111; --soft:#1f2630; --accent:#4493f8; } }
body { margin:0; background:var(--bg); color:var(--text); font:14px/1.5 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; }
main { max-width:1400px; margin:0 auto; padding:24px 20px 48px; }
h1 { font-size:22px; margin:0 0 4px; } a { color:var(--accent); } .muted { color:var(--muted); }
.card { background:var(--card); border:1px solid var(--border); border-radius:10px; padding:16px 18px; margin-top:16px; overflow-x:auto; }
.stats { display:flex; flex-wrap:wrap; gap:8px 24px; margin-top:8px; }
table { border-collapse:collapse; width:100%; font-size:13px; }
th, td { border-bottom:1px solid var(--border); padding:6px 8px; text-align:left; white-space:nowrap; }
th { font-size:11px; text-transform:uppercase; letter-spacing:.05em; color:var(--muted); vertical-align:bottom; }
th.check { writing-mode:vertical-rl; transform:rotate(180deg); text-transform:none; letter-spacing:0; max-height:180px; overflow:hidden; }
td.num { text-align:right; font-variant-numeric:tabular-nums; } td.pt { text-align:center; font-variant-numeric:tabular-nums; }
td.full { color:var(--pass); } td.zero { color:var(--fail); } td.part { color:var(--warn); }
td.detail { white-space:normal; color:var(--muted); max-width:360px; }
.pill { display:inline-block; padding:1px 8px; border-radius:999px; font-size:12px; font-weight:600; background:var(--soft); }
.pill.graded { background:var(--pass-bg); color:var(--pass); } .pill.failed, .pill.missing { background:var(--warn-bg); color:var(--warn); }
.pill.timeout, .pill.crashed, .pill.tampered, .pill.error { background:var(--fail-bg); color:var(--fail); }
`;

const link = (href: string | undefined, text: string) => {
  const safe = href ? safeRelativeHref(href) : null;
  return safe ? `<a href="${esc(safe)}">${esc(text)}</a>` : esc(text);
};
const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2; };

function pointCell(row: GradebookRow, c: ClassIndex['checks'][number]): string {
  const p = row.checks[c.id];
  if (p === undefined || row.status === 'error') return '<td class="pt muted">–</td>';
  const cls = p >= c.maxPoints ? 'full' : p <= 0 ? 'zero' : 'part';
  return `<td class="pt ${cls}" title="${esc(c.name)}">${formatPoints(p)}</td>`;
}

// The staff index page of a class run.
export function renderClassIndex(ix: ClassIndex): string {
  const counts = new Map<GradeStatus, number>();
  for (const r of ix.rows) counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
  const scored = ix.rows.filter((r) => r.score !== null && r.status !== 'missing').map((r) => r.score!);
  const max = ix.rows.find((r) => r.maxScore !== null)?.maxScore ?? null;
  const stats = [
    `<span><strong>${ix.rows.length}</strong> submission${ix.rows.length === 1 ? '' : 's'}</span>`,
    ...[...counts].map(([s, n]) => `<span><span class="pill ${s}">${s}</span> ${n}</span>`),
    scored.length ? `<span>mean <strong>${formatPoints(scored.reduce((a, b) => a + b, 0) / scored.length)}</strong>${max !== null ? ` / ${formatPoints(max)}` : ''}, median <strong>${formatPoints(median(scored))}</strong></span>` : '',
  ].join('');
  const head = `<tr><th>Student</th><th>Score</th><th>Status</th>${ix.checks.map((c) => `<th class="check" title="${esc(c.name)}">${esc(c.id)}</th>`).join('')}<th>Time</th><th>Staff</th><th>Detail</th></tr>`;
  const body = ix.rows.map((r) => `<tr data-testid="student" data-student="${esc(r.student)}" data-status="${esc(r.status)}">`
    + `<td>${link(r.report, r.student)}</td>`
    + `<td class="num" data-testid="student-score">${r.score === null ? '–' : `${formatPoints(r.score)} / ${formatPoints(r.maxScore ?? 0)}`}</td>`
    + `<td><span class="pill ${esc(r.status)}">${esc(r.status)}</span></td>`
    + ix.checks.map((c) => pointCell(r, c)).join('')
    + `<td class="num">${r.durationMs === null ? '–' : esc(formatDuration(r.durationMs))}</td>`
    + `<td>${r.staffReport ? link(r.staffReport, 'full report') : ''}</td>`
    + `<td class="detail">${esc(r.detail?.split('\n')[0] ?? '')}</td></tr>`).join('\n');
  return htmlDocument({ title: `${ix.lab.title || ix.lab.name} · class results · netlab-run`, css: CSS, main: `<header class="card"><div class="muted">netlab-run · class results (staff: includes hidden checks)</div>
<h1>${esc(ix.lab.title || ix.lab.name)}</h1><div class="muted">${esc(ix.lab.name)} · ${esc(formatDate(ix.generatedAt))} · <a href="gradebook.csv">gradebook.csv</a></div>
<div class="stats" data-testid="class-stats">${stats}</div></header>
<section class="card"><table data-testid="gradebook"><thead>${head}</thead><tbody>
${body}
</tbody></table></section>` });
}
