// matrix.html: the kernel matrix of a run as one self-contained page (labs × kernels, each cell with
// status, score and wall time, linking to the unit's report; regressions and fixes against the
// baseline marked). Inline CSS, no script, no external URL, a CSP that allows nothing else.
import { formatDate, formatDuration, formatPoints } from './format.ts';
import { htmlDocument } from './html-document.ts';
import { esc, safeRelativeHref } from './html-escape.ts';
import { cellAt, type CellRef, type Matrix, type MatrixCell } from './matrix.ts';

const CSS = `
:root { --bg:#f6f7f9; --card:#fff; --text:#1f2328; --muted:#656d76; --border:#d8dee4; --pass:#1a7f37; --pass-bg:#dafbe1;
  --fail:#cf222e; --fail-bg:#ffebe9; --warn:#9a6700; --warn-bg:#fff8c5; --skip:#6e7781; --skip-bg:#eaeef2; --soft:#eef1f4; --accent:#0969da;
  --mono: ui-monospace, "SFMono-Regular", "DejaVu Sans Mono", Menlo, Consolas, monospace; }
@media (prefers-color-scheme: dark) { :root { --bg:#0d1117; --card:#161b22; --text:#e6edf3; --muted:#8d96a0; --border:#30363d;
  --pass:#3fb950; --pass-bg:#12261e; --fail:#f85149; --fail-bg:#2d1417; --warn:#d29922; --warn-bg:#2b2111; --skip:#8d96a0; --skip-bg:#21262d; --soft:#1f2630; --accent:#4493f8; } }
body { margin:0; background:var(--bg); color:var(--text); font:14px/1.5 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; }
main { max-width:1400px; margin:0 auto; padding:24px 20px 48px; }
h1 { font-size:22px; margin:0 0 4px; } h2 { font-size:15px; margin:0 0 8px; } a { color:var(--accent); } .muted { color:var(--muted); }
code, .mono { font-family:var(--mono); font-size:12.5px; }
.card { background:var(--card); border:1px solid var(--border); border-radius:10px; padding:16px 18px; margin-top:16px; overflow-x:auto; }
.stats { display:flex; flex-wrap:wrap; gap:8px 24px; margin-top:8px; }
table { border-collapse:separate; border-spacing:6px; }
th { font-size:12px; text-align:left; vertical-align:bottom; padding:4px 6px; }
th .ver { display:block; font-weight:400; color:var(--muted); font-family:var(--mono); font-size:11.5px; }
th.lab { text-align:right; white-space:nowrap; vertical-align:top; padding-top:10px; } th.lab .title { display:block; font-weight:400; color:var(--muted); max-width:280px; white-space:normal; }
td.cell { min-width:150px; border-radius:8px; padding:8px 10px; vertical-align:top; border:2px solid transparent; }
td.cell a { color:inherit; text-decoration:none; display:block; } td.cell a:hover .st { text-decoration:underline; }
td.pass { background:var(--pass-bg); color:var(--pass); } td.fail { background:var(--fail-bg); color:var(--fail); }
td.error { background:var(--warn-bg); color:var(--warn); } td.skip { background:var(--skip-bg); color:var(--skip); }
td.none { background:var(--soft); color:var(--muted); text-align:center; }
td.regressed { border-color:var(--fail); } td.fixed { border-color:var(--pass); }
.st { font-weight:700; text-transform:uppercase; letter-spacing:.04em; font-size:12px; }
.score { float:right; font-variant-numeric:tabular-nums; font-weight:600; }
.time, .failed { display:block; font-size:12px; color:var(--muted); }
.failed { font-family:var(--mono); font-size:11.5px; white-space:normal; max-width:240px; overflow-wrap:anywhere; }
.mark { display:inline-block; margin-top:4px; padding:0 6px; border-radius:999px; font-size:11.5px; font-weight:700; color:#fff; }
.mark.regressed { background:var(--fail); } .mark.fixed { background:var(--pass); } .mark.known { background:var(--skip); }
.pill { display:inline-block; padding:1px 8px; border-radius:999px; font-size:12px; font-weight:600; background:var(--soft); }
.pill.pass { background:var(--pass-bg); color:var(--pass); } .pill.fail { background:var(--fail-bg); color:var(--fail); }
.pill.error { background:var(--warn-bg); color:var(--warn); } .pill.skip { background:var(--skip-bg); color:var(--skip); }
ul.changes { margin:4px 0 0; padding-left:20px; } ul.changes li { margin:2px 0; }
`;


function cellHtml(cell: MatrixCell | undefined, lab: string, kernel: string): string {
  if (!cell) return `<td class="cell none" data-testid="cell" data-lab="${esc(lab)}" data-kernel="${esc(kernel)}" data-status="none">not run</td>`;
  const ch = cell.change;
  const mark = ch?.mark === 'regressed' ? 'regressed' : ch?.mark === 'fixed' ? 'fixed' : '';
  const badges = [
    ch?.mark === 'regressed' ? `<span class="mark regressed" title="${esc(`${ch.was} in the baseline`)}">▼ regressed</span>` : '',
    ch?.mark === 'fixed' ? `<span class="mark fixed" title="${esc(`${ch.was} in the baseline`)}">▲ fixed</span>` : '',
    ch?.mark === 'known' ? `<span class="mark known" title="failing in the baseline too">known</span>` : '',
    ch && ch.mark !== 'regressed' && ch.regressedChecks.length ? `<span class="mark regressed">▼ ${ch.regressedChecks.length} check${ch.regressedChecks.length === 1 ? '' : 's'}</span>` : '',
  ].join(' ');
  const newly = new Set(ch?.regressedChecks ?? []);
  const failed = cell.failedChecks.length
    ? `<span class="failed" title="failed checks">${cell.failedChecks.map((id) => (newly.has(id) ? `<strong>${esc(id)}</strong>` : esc(id))).join(', ')}</span>` : '';
  const fixedChecks = ch?.fixedChecks.length ? `<span class="failed" title="checks that pass again">fixed: ${ch.fixedChecks.map(esc).join(', ')}</span>` : '';
  const inner = `<span class="st">${esc(cell.status)}</span><span class="score">${formatPoints(cell.score)}/${formatPoints(cell.maxScore)}</span>`
    + `<span class="time">${esc(formatDuration(cell.durationMs))} · <span class="mono">${esc(cell.kernelVersion)}</span></span>`
    + (cell.error ? `<span class="failed">${esc(cell.error.split('\n')[0]!.slice(0, 160))}</span>` : '')
    + failed + fixedChecks + (badges.trim() ? `<div>${badges}</div>` : '');
  const href = cell.report ? safeRelativeHref(cell.report) : null;
  return `<td class="cell ${esc(cell.status)} ${mark}" data-testid="cell" data-lab="${esc(lab)}" data-kernel="${esc(kernel)}" data-status="${esc(cell.status)}"${ch ? ` data-change="${esc(ch.mark)}"` : ''}>`
    + (href ? `<a href="${esc(href)}" title="${esc(`${cell.unit}: open the report`)}">${inner}</a>` : inner) + '</td>';
}

function refList(title: string, refs: CellRef[], verb: string, testid: string): string {
  if (!refs.length) return `<p data-testid="${testid}"><strong>${esc(title)}:</strong> <span class="muted">none</span></p>`;
  return `<div data-testid="${testid}"><strong>${esc(title)}:</strong><ul class="changes">${refs.map((r) => `<li><code>${esc(r.lab)}</code> on <code>${esc(r.kernel)}</code>: ${esc(r.was)} → ${esc(r.now)}`
    + `${r.checks.length ? ` <span class="muted">(${esc(verb)}: ${r.checks.map(esc).join(', ')})</span>` : ''}</li>`).join('')}</ul></div>`;
}

// The matrix page.
export function renderMatrixHtml(m: Matrix): string {
  const stats = [
    `<span><strong>${m.labs.length}</strong> lab${m.labs.length === 1 ? '' : 's'} × <strong>${m.kernels.length}</strong> kernel${m.kernels.length === 1 ? '' : 's'}</span>`,
    ...(['pass', 'fail', 'error', 'skip'] as const).filter((s) => m.totals[s]).map((s) => `<span><span class="pill ${s}">${s}</span> ${m.totals[s]}</span>`),
  ].join('');
  const head = `<tr><th></th>${m.kernels.map((k) => `<th data-testid="kernel" data-kernel="${esc(k.name)}">${esc(k.name)}<span class="ver">${esc(k.versions.join(', ') || 'version unknown')}</span></th>`).join('')}</tr>`;
  const rows = m.labs.map((l) => `<tr data-testid="lab" data-lab="${esc(l.name)}"><th class="lab"><code>${esc(l.name)}</code><span class="title">${esc(l.title)}</span></th>`
    + m.kernels.map((k) => cellHtml(cellAt(m, l.name, k.name), l.name, k.name)).join('') + '</tr>').join('\n');
  const b = m.baseline;
  const baseline = b ? `<section class="card" data-testid="baseline"><h2>Compared with <code>${esc(b.source)}</code>${b.generatedAt ? ` <span class="muted">(${esc(formatDate(b.generatedAt))})</span>` : ''}</h2>`
    + refList('Regressed', b.regressed, 'now failing', 'regressed') + refList('Fixed', b.fixed, 'passing again', 'fixed')
    + (b.known.length ? refList('Known failures', b.known, 'failing', 'known') : '')
    + (b.newFailures.length ? refList('New failures (not in the baseline)', b.newFailures, 'failing', 'new-failures') : '')
    + (b.missing.length ? `<p data-testid="missing"><strong>Not run:</strong> ${b.missing.map((x) => `<code>${esc(x.lab)}</code> on <code>${esc(x.kernel)}</code> (was ${esc(x.was)})`).join(', ')}</p>` : '')
    + '</section>' : '';
  const images = [...new Set(m.cells.map((c) => c.imageRecipeHash))];
  return htmlDocument({ title: 'Kernel matrix · netlab-run', css: CSS, main: `<header class="card"><div class="muted">netlab-run · kernel matrix</div>
<h1>Labs × kernels</h1><div class="muted">${esc(formatDate(m.generatedAt))} · image ${images.map((h) => `<code>${esc(h.slice(0, 16))}</code>`).join(', ')} · <a href="matrix.json">matrix.json</a></div>
<div class="stats" data-testid="matrix-stats">${stats}</div></header>
<section class="card"><table data-testid="matrix"><thead>${head}</thead><tbody>
${rows}
</tbody></table></section>
${baseline}` });
}
