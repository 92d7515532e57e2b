// Renders a RunResult as one self-contained index.html: inline CSS, a little inline JS, an inline
// SVG topology, no external URL, readable from file:// offline. A Content-Security-Policy allows
// only the report's own script (by hash) and no network at all, as a second line behind escaping.
import { formatDate, formatDuration, formatPoints } from './format.ts';
import { esc } from './html-escape.ts';
import { capturesSection, checkItem, finalStateSection, setupSection, type SectionOptions } from './html-sections.ts';
import { htmlDocument } from './html-document.ts';
import { CSS, SCRIPT } from './html-style.ts';
import type { RunResult } from './model.ts';
import { topologySvg } from './topology-svg.ts';

export interface HtmlOptions extends SectionOptions {
  /** Name of the tool in the footer and title. Default "netlab-run". */
  generator?: string;
}

const STATUS_WORD: Record<RunResult['status'], string> = { passed: 'Passed', failed: 'Failed', error: 'Error' };

function header(r: RunResult): string {
  const ratio = r.maxScore > 0 ? Math.max(0, Math.min(1, r.score / r.maxScore)) : r.status === 'passed' ? 1 : 0;
  const meta: [string, string][] = [
    ['Kernel', `${esc(r.kernel.name)} <span class="muted mono">${esc(r.kernel.version)}</span>`
      + (r.kernel.locked === false ? ' <span class="muted" data-testid="kernel-unlocked">not locked: this lab lets the submission load modules, kexec and ptrace</span>' : '')],
    ['Image recipe', `<span class="mono" data-testid="image-hash">${esc(r.image.recipeHash)}</span>`],
    ['Acceleration', r.accel === 'kvm' ? 'KVM' : 'TCG <span class="muted">(emulated)</span>'],
    ['Submission', r.submission ? `<span title="${esc(r.submission.file)}">${esc(r.submission.label)}</span>` : '<span class="muted">none (reference run)</span>'],
    ['Started', esc(formatDate(r.startedAt))],
    ['Duration', esc(formatDuration(r.durationMs))],
  ];
  return `<header class="card head" data-testid="header"><div>`
    + `<div class="eyebrow">netlab-run report</div>`
    + `<h1 data-testid="lab-title">${esc(r.lab.title || r.lab.name)}</h1><div class="lab-name">${esc(r.lab.name)}</div>`
    + `<dl class="meta">${meta.map(([k, v]) => `<div><dt>${k}</dt><dd>${v}</dd></div>`).join('')}</dl></div>`
    + `<div class="scorebox"><div class="score" data-testid="score">${formatPoints(r.score)}<span class="max"> / ${formatPoints(r.maxScore)}</span></div>`
    + `<div class="bar" role="img" aria-label="${Math.round(ratio * 100)}%"><svg width="100%" height="8" viewBox="0 0 100 8" preserveAspectRatio="none">`
    + `<rect width="${(ratio * 100).toFixed(2)}" height="8" class="bar-fill"/></svg></div>`
    + `<span class="pill ${r.status}" data-testid="status">${STATUS_WORD[r.status] ?? esc(r.status)}</span></div></header>`;
}

// What the student's own script did when it did not simply succeed: timed out, crashed a machine.
const SUBMISSION_WORDS = {
  failed: 'Your submission exited with an error.',
  timeout: 'Your submission ran past its time limit: it was stopped, with every process it started.',
  crashed: 'Your submission crashed: checks on a machine it took down could not run and score 0.',
  tampered: 'Your submission broke the grader\'s channel to a machine: what could not be run there scores 0.',
} as const;

function submissionBanner(r: RunResult): string {
  const s = r.submissionRun;
  if (!s || s.status === 'ok' || s.status === 'failed') return '';
  return `<div class="banner" role="alert" data-testid="submission-status" data-status="${esc(s.status)}"><strong>${SUBMISSION_WORDS[s.status]}</strong>`
    + `${s.detail ? `<pre>${esc(s.detail)}</pre>` : ''}</div>`;
}

// The student sees that the run was flagged; staff see what was done.
function tamperBanner(r: RunResult, opts: SectionOptions): string {
  if (!r.tampered?.length) return '';
  const words = 'This run was flagged: the submission tampered with grading. Its points are only what the checks found it built, in a context it could not reach.';
  const list = opts.showHidden ? `<ul>${r.tampered.map((t) => `<li>[${esc(t.machine)}] ${esc(t.reason)}</li>`).join('')}</ul>` : '';
  return `<div class="banner" role="alert" data-testid="tampered"><strong>${words}</strong>${list}</div>`;
}

function checksSection(r: RunResult, opts: SectionOptions): string {
  const failed = r.checks.filter((c) => c.status === 'failed' || c.status === 'error').length;
  const groups = (r.groups ?? []).map((g) => `group ${esc(g.name)}: ${formatPoints(g.points)} / ${formatPoints(g.maxPoints)} (counts at most ${formatPoints(g.cap)})`).join(' · ');
  const counts = `${r.checks.length} check${r.checks.length === 1 ? '' : 's'}${failed ? `, ${failed} not passed` : ''}${groups ? ` · ${groups}` : ''}`;
  const list = r.checks.length
    ? `<div class="checks">${r.checks.map((c, i) => checkItem(c, i, opts)).join('')}</div>`
    : '<p class="muted">No check ran.</p>';
  return `<section class="card" id="checks" data-testid="checks"><h2>Checks <span class="count">${counts}</span>`
    + `<span class="toolbar"><button type="button" data-action="only-failed" aria-pressed="false">Only failed</button>`
    + `<button type="button" data-action="expand">Expand all</button><button type="button" data-action="collapse">Collapse all</button></span></h2>`
    + `${list}</section>`;
}

// The whole report page for one run.
export function renderHtml(result: RunResult, opts: HtmlOptions = {}): string {
  const r = result;
  const generator = opts.generator ?? 'netlab-run';
  const svg = topologySvg(r.topology);
  const body = [
    header(r),
    r.error ? `<div class="banner" role="alert" data-testid="run-error"><strong>The run did not complete.</strong>`
      + `<pre>${esc(r.error)}</pre></div>` : '',
    submissionBanner(r),
    tamperBanner(r, opts),
    svg ? `<section class="card" id="topology"><h2>Topology</h2><div class="topology-wrap">${svg}</div></section>` : '',
    checksSection(r, opts),
    capturesSection(r.captures),
    setupSection(r.setup, r.submission?.label),
    finalStateSection(r.collected),
    `<footer>Generated by ${esc(generator)} · machine-readable: <a href="summary.json">summary.json</a>, <a href="result.json">result.json</a></footer>`,
  ].join('\n');
  const title = `${formatPoints(r.score)}/${formatPoints(r.maxScore)} · ${r.lab.title || r.lab.name} · ${generator}`;
  return htmlDocument({ title, css: CSS, script: SCRIPT, dataImages: true, bodyAttributes: ` data-status="${esc(r.status)}"`, main: body });
}
