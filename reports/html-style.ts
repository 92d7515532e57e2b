// The report's inline CSS and its small inline script (no external files, works from file://).

export const CSS = `
:root {
  --bg: #f6f7f9; --card: #ffffff; --text: #1f2328; --muted: #656d76; --border: #d8dee4; --soft: #eef1f4;
  --pass: #1a7f37; --pass-bg: #dafbe1; --fail: #cf222e; --fail-bg: #ffebe9; --warn: #9a6700; --warn-bg: #fff8c5;
  --skip: #6e7781; --skip-bg: #eaeef2; --code-bg: #f6f8fa; --accent: #0969da;
  --mono: ui-monospace, "SFMono-Regular", "DejaVu Sans Mono", Menlo, Consolas, monospace;
  --sans: system-ui, -apple-system, "Segoe UI", "DejaVu Sans", Roboto, Helvetica, Arial, sans-serif;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0d1117; --card: #161b22; --text: #e6edf3; --muted: #8d96a0; --border: #30363d; --soft: #1f2630;
    --pass: #3fb950; --pass-bg: #12261e; --fail: #f85149; --fail-bg: #2d1417; --warn: #d29922; --warn-bg: #2b2111;
    --skip: #8d96a0; --skip-bg: #21262d; --code-bg: #0d1117; --accent: #4493f8;
  }
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; background: var(--bg); color: var(--text); font: 14px/1.5 var(--sans); }
main { max-width: 1120px; margin: 0 auto; padding: 24px 20px 48px; }
h1 { font-size: 24px; line-height: 1.25; margin: 2px 0 4px; }
h2 { font-size: 16px; margin: 0 0 12px; display: flex; align-items: baseline; gap: 10px; }
h2 .count { color: var(--muted); font-weight: 400; font-size: 13px; }
h3 { font-size: 14px; margin: 16px 0 8px; }
code, pre, .mono { font-family: var(--mono); font-size: 12.5px; }
a { color: var(--accent); }
p code, .hint code, .feedback code, .capture-head code { background: var(--soft); padding: 1px 5px; border-radius: 4px; }
.hint code { background: var(--card); }
.card { background: var(--card); border: 1px solid var(--border); border-radius: 10px; padding: 18px 20px; margin-top: 16px; }
.muted { color: var(--muted); }

/* header */
.head { display: grid; grid-template-columns: 1fr auto; gap: 24px; align-items: start; }
.eyebrow { text-transform: uppercase; letter-spacing: .08em; font-size: 11px; font-weight: 600; color: var(--muted); }
.lab-name { font-family: var(--mono); color: var(--muted); font-size: 13px; }
.meta { display: grid; grid-template-columns: repeat(auto-fill, minmax(170px, 1fr)); gap: 10px 20px; margin: 16px 0 0; }
.meta div { min-width: 0; }
.meta dt { font-size: 11px; text-transform: uppercase; letter-spacing: .06em; color: var(--muted); }
.meta dd { margin: 1px 0 0; overflow-wrap: anywhere; }
.scorebox { text-align: right; min-width: 190px; }
.score { font-size: 44px; font-weight: 700; line-height: 1; letter-spacing: -.02em; font-variant-numeric: tabular-nums; }
.score .max { color: var(--muted); font-weight: 500; font-size: 28px; }
.bar { height: 8px; border-radius: 4px; background: var(--fail-bg); overflow: hidden; margin: 12px 0 10px; }
.bar svg { display: block; }
.bar-fill { fill: var(--pass); }
.pill { display: inline-block; padding: 2px 10px; border-radius: 999px; font-size: 12px; font-weight: 600; letter-spacing: .04em; text-transform: uppercase; }
.pill.passed { color: var(--pass); background: var(--pass-bg); }
.pill.failed { color: var(--fail); background: var(--fail-bg); }
.pill.error { color: var(--warn); background: var(--warn-bg); }
.banner { margin-top: 16px; padding: 12px 16px; border-radius: 8px; background: var(--warn-bg); color: var(--text); border: 1px solid var(--warn); }
.banner pre { margin: 6px 0 0; white-space: pre-wrap; }

/* checks */
.toolbar { margin-left: auto; display: flex; gap: 6px; }
button { font: inherit; font-size: 12px; padding: 3px 10px; border: 1px solid var(--border); border-radius: 6px; background: var(--card); color: var(--text); cursor: pointer; }
button:hover { background: var(--soft); }
button[aria-pressed="true"] { background: var(--soft); border-color: var(--muted); }
.checks { border: 1px solid var(--border); border-radius: 8px; overflow: hidden; }
details.check { border-top: 1px solid var(--border); }
details.check:first-child { border-top: 0; }
details.check > summary { list-style: none; display: grid; grid-template-columns: 26px 1fr auto 14px; gap: 10px; align-items: center; padding: 9px 14px; cursor: pointer; }
details.check > summary::-webkit-details-marker { display: none; }
details.check > summary:hover { background: var(--soft); }
details.check > summary::after { content: "▸"; color: var(--muted); transition: transform .15s; }
details.check[open] > summary::after { transform: rotate(90deg); }
details.check.failed > summary { background: var(--fail-bg); }
.only-failed details.check:not(.failed):not(.error) { display: none; }
.icon { width: 22px; height: 22px; border-radius: 50%; display: inline-grid; place-items: center; font-size: 13px; font-weight: 700; }
.icon.passed { color: #fff; background: var(--pass); }
.icon.failed { color: #fff; background: var(--fail); }
.icon.error { color: #fff; background: var(--warn); }
.icon.skipped, .icon.hidden { color: var(--skip); background: var(--skip-bg); }
.check-name { font-weight: 500; min-width: 0; overflow-wrap: anywhere; }
.check-id { font-family: var(--mono); font-size: 12px; color: var(--muted); margin-left: 8px; }
.points { font-variant-numeric: tabular-nums; font-weight: 600; white-space: nowrap; }
.points.partial { color: var(--fail); }
.body { padding: 4px 14px 14px 50px; }
.hint { border-left: 3px solid var(--fail); background: var(--fail-bg); padding: 8px 12px; border-radius: 0 6px 6px 0; margin: 8px 0; }
.feedback { border-left: 3px solid var(--accent); background: var(--soft); padding: 8px 12px; border-radius: 0 6px 6px 0; margin: 8px 0; }
.expect { display: grid; grid-template-columns: 80px 1fr; gap: 2px 12px; margin: 10px 0; }
.expect dt { color: var(--muted); }
.expect dd { margin: 0; font-family: var(--mono); font-size: 12.5px; overflow-wrap: anywhere; }
.check.failed .expect dd.got { color: var(--fail); }

/* commands */
.cmd { border: 1px solid var(--border); border-radius: 8px; margin: 10px 0; overflow: hidden; background: var(--card); }
.cmd-head { display: flex; flex-wrap: wrap; align-items: center; gap: 6px 10px; padding: 6px 10px; background: var(--soft); font-size: 12px; }
.cmd-head .line { font-family: var(--mono); font-size: 12.5px; flex: 1 1 300px; min-width: 0; overflow-wrap: anywhere; }
.cmd-head .prompt { color: var(--muted); user-select: none; }
.machine { font-family: var(--mono); font-size: 11.5px; padding: 1px 7px; border-radius: 4px; background: var(--card); border: 1px solid var(--border); }
.exit { font-family: var(--mono); font-size: 11.5px; font-weight: 600; }
.exit.ok { color: var(--pass); }
.exit.bad { color: var(--fail); }
.badge { font-size: 11px; font-weight: 600; padding: 1px 7px; border-radius: 4px; }
.badge.timeout, .badge.truncated { color: var(--warn); background: var(--warn-bg); }
.badge.attempt { color: var(--muted); background: var(--card); border: 1px solid var(--border); }
pre.out { margin: 0; padding: 8px 12px; background: var(--code-bg); white-space: pre-wrap; overflow-wrap: anywhere; max-height: 420px; overflow: auto; border-top: 1px solid var(--border); }
pre.out.stderr { color: var(--fail); }
pre.out::before { display: block; font-family: var(--sans); font-size: 10.5px; text-transform: uppercase; letter-spacing: .06em; color: var(--muted); margin-bottom: 2px; }
pre.out.stdout::before { content: "stdout"; }
pre.out.stderr::before { content: "stderr"; }
.empty-out { padding: 6px 12px; font-size: 12px; color: var(--muted); border-top: 1px solid var(--border); font-style: italic; }
details.group { margin: 6px 0; }
details.group > summary { cursor: pointer; font-weight: 600; padding: 4px 0; }

/* captures, topology */
table.packets { width: 100%; border-collapse: collapse; font-size: 12.5px; margin-top: 8px; }
table.packets th { text-align: left; font-weight: 600; color: var(--muted); font-size: 11px; text-transform: uppercase; letter-spacing: .05em; border-bottom: 1px solid var(--border); padding: 4px 8px; }
table.packets td { border-bottom: 1px solid var(--soft); padding: 3px 8px; vertical-align: top; }
table.packets td.num { text-align: right; font-variant-numeric: tabular-nums; color: var(--muted); white-space: nowrap; font-family: var(--mono); }
table.packets td.sum { font-family: var(--mono); overflow-wrap: anywhere; }
table.packets .l2 { color: var(--muted); }
table.packets tbody tr:hover { background: var(--soft); }
.capture + .capture { margin-top: 18px; padding-top: 14px; border-top: 1px solid var(--border); }
.capture-head { display: flex; flex-wrap: wrap; gap: 6px 14px; align-items: baseline; }
.capture-head strong { font-size: 15px; }
.error-text { color: var(--fail); }
.topology-wrap { overflow-x: auto; }
svg.topology { display: block; max-width: 100%; height: auto; font-family: var(--mono); }
.topo-box { fill: var(--soft); stroke: var(--muted); stroke-width: 1.2; }
.ghost .topo-box { stroke-dasharray: 4 3; }
.topo-name { font-family: var(--sans); font-weight: 700; font-size: 14px; fill: var(--text); }
.topo-iface { font-size: 11px; font-weight: 700; fill: var(--text); }
.topo-addr { font-size: 11px; fill: var(--muted); }
.topo-link-label { font-size: 11px; font-weight: 700; }
.topo-halo { stroke: var(--card); }
.topo-joint { stroke: var(--card); stroke-width: 1.5; }
.topo-port-dot { stroke: var(--card); stroke-width: 1.5; }
.topo-port-dot.unlinked { fill: var(--card); stroke: var(--muted); }
footer { margin-top: 28px; color: var(--muted); font-size: 12px; text-align: center; }
@media (max-width: 700px) { .head { grid-template-columns: 1fr; } .scorebox { text-align: left; } .body { padding-left: 14px; } }
@media print { details.check > .body { display: block; } .toolbar { display: none; } }
`;

// Expand/collapse all, "only failed", and opening the check named in the URL's #fragment.
// Everything works without it: the checks are plain <details>.
export const SCRIPT = `
(function () {
  var checks = function () { return Array.prototype.slice.call(document.querySelectorAll('details.check')); };
  document.addEventListener('click', function (e) {
    var b = e.target.closest && e.target.closest('button[data-action]');
    if (!b) return;
    var a = b.getAttribute('data-action');
    if (a === 'expand' || a === 'collapse') checks().forEach(function (d) { d.open = a === 'expand'; });
    if (a === 'only-failed') {
      var on = document.body.classList.toggle('only-failed');
      b.setAttribute('aria-pressed', on ? 'true' : 'false');
    }
  });
  function openHash() {
    var id = decodeURIComponent(location.hash.slice(1));
    var el = id && document.getElementById(id);
    if (el && el.tagName === 'DETAILS') { el.open = true; el.scrollIntoView(); }
  }
  window.addEventListener('hashchange', openHash);
  openHash();
})();
`;
