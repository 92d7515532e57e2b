// The parts of the HTML report: one check, one command, captures, setup and final state.
// Every string from the run goes through esc(); nothing here reads files or the clock.
import { formatDuration, formatPoints, isHidden } from './format.ts';
import { esc, safeRelativeHref } from './html-escape.ts';
import type { CaptureResult, CheckResult, CommandRecord } from './model.ts';

export interface SectionOptions {
  /** Staff view: hidden and after-due-date checks show everything. */
  showHidden?: boolean;
}

const ICONS: Record<string, string> = { passed: '✓', failed: '✗', error: '!', skipped: '–', hidden: '–' };

// Output text for a <pre>: one trailing newline dropped (the <pre> ends the line already).
const outText = (s: string) => esc(s.replace(/\r?\n$/, ''));

// Short prose from the lab file (hint, feedback): escaped, then `backticks` become <code>.
const prose = (s: string) => esc(s).replace(/`([^`\n]+)`/g, '<code>$1</code>');

// An HTML id made from run data: letters, digits, - and _ only.
export const idFor = (prefix: string, name: string) => `${prefix}-${name.replace(/[^A-Za-z0-9_-]/g, '_')}`;

// One command run: machine, `$ command`, exit code, duration, badges, stdout and stderr.
export function commandBlock(c: CommandRecord): string {
  const ok = c.exitCode === 0 && !c.timedOut;
  const exit = c.exitCode === null ? (c.timedOut ? 'killed' : 'no exit code') : `exit ${c.exitCode}`;
  const badges = [
    c.attempt ? `<span class="badge attempt">attempt ${esc(c.attempt)}</span>` : '',
    c.timedOut ? '<span class="badge timeout" data-testid="timed-out">timed out</span>' : '',
    c.truncated ? '<span class="badge truncated" data-testid="truncated">truncated</span>' : '',
  ].join('');
  const outs = [
    c.stdout ? `<pre class="out stdout" data-testid="stdout">${outText(c.stdout)}</pre>` : '',
    c.stderr ? `<pre class="out stderr" data-testid="stderr">${outText(c.stderr)}</pre>` : '',
  ].join('') || '<div class="empty-out">no output</div>';
  return `<div class="cmd" data-testid="command" data-phase="${esc(c.phase)}" data-exit="${esc(c.exitCode ?? '')}">`
    + `<div class="cmd-head"><span class="machine" title="machine">${esc(c.machine)}</span>`
    + `<code class="line"><span class="prompt">$ </span>${esc(c.command)}</code>${badges}`
    + `<span class="exit ${ok ? 'ok' : 'bad'}">${exit}</span><span class="muted">${formatDuration(c.durationMs)}</span></div>`
    + `${outs}</div>`;
}

// One check as a <details>: summary line (icon, name, points), then hint, expected/got, feedback, commands.
export function checkItem(c: CheckResult, index: number, opts: SectionOptions): string {
  const points = `${formatPoints(c.points)} / ${formatPoints(c.maxPoints)}`;
  if (isHidden(c) && !opts.showHidden) {
    const when = c.visibility === 'after_due_date' ? 'after the due date' : 'when grades are released';
    return `<details class="check hidden" id="check-hidden-${index + 1}" data-testid="check" data-status="hidden">`
      + `<summary><span class="icon hidden" aria-label="hidden">${ICONS.hidden}</span>`
      + `<span class="check-name" data-testid="check-name">Hidden check</span>`
      + `<span class="points" data-testid="check-points">${points}</span></summary>`
      + `<div class="body muted">Its details are shown ${when}.</div></details>`;
  }
  const status = c.status;
  const partial = c.points < c.maxPoints && status !== 'skipped';
  const visibility = isHidden(c) ? ` <span class="badge attempt">${c.visibility === 'hidden' ? 'hidden' : 'after due date'}</span>` : '';
  const group = c.group ? ` <span class="badge attempt" data-testid="check-group">group ${esc(c.group)}</span>` : '';
  const body: string[] = [];
  if (status === 'failed' && c.hint) body.push(`<div class="hint" data-testid="hint"><strong>Hint:</strong> ${prose(c.hint)}</div>`);
  if (c.reason) body.push(`<div class="hint" data-testid="reason"><strong>${status === 'error' ? 'Error' : 'Skipped'}:</strong> ${prose(c.reason)}</div>`);
  if (c.expected || c.got) {
    body.push(`<dl class="expect"><dt>expected</dt><dd data-testid="expected">${esc(c.expected) || '–'}</dd>`
      + `<dt>got</dt><dd class="got" data-testid="got">${esc(c.got) || '–'}</dd></dl>`);
  }
  if (c.feedback) body.push(`<div class="feedback" data-testid="feedback">${prose(c.feedback)}</div>`);
  if (c.capture) body.push(`<p class="muted">Reads capture <a href="#${idFor('capture', c.capture)}">${esc(c.capture)}</a>.</p>`);
  body.push(...c.commands.map(commandBlock));
  if (c.commands.length === 0 && !c.capture) body.push('<p class="muted">No commands ran.</p>');
  return `<details class="check ${esc(status)}" id="${idFor('check', c.id)}" data-testid="check" data-status="${esc(status)}" data-check-id="${esc(c.id)}">`
    + `<summary><span class="icon ${esc(status)}" aria-label="${esc(status)}">${ICONS[status] ?? '?'}</span>`
    + `<span class="check-name" data-testid="check-name">${esc(c.name)}<span class="check-id">${esc(c.id)}</span>${visibility}${group}</span>`
    + `<span class="points${partial ? ' partial' : ''}" data-testid="check-points">${points}</span></summary>`
    + `<div class="body">${body.join('')}<p class="muted">Took ${formatDuration(c.durationMs)}.</p></div></details>`;
}

const failedCommand = (c: CommandRecord) => c.exitCode !== 0 || c.timedOut;

// A collapsible group of commands, open when one of them failed.
function commandGroup(title: string, commands: CommandRecord[], testid: string, open = commands.some(failedCommand)): string {
  const bad = commands.filter(failedCommand).length;
  const note = `${commands.length} command${commands.length === 1 ? '' : 's'}${bad ? `, <span class="error-text">${bad} failed</span>` : ''}`;
  return `<details class="group" data-testid="${testid}"${open ? ' open' : ''}><summary>${esc(title)} <span class="muted">(${note})</span></summary>`
    + `${commands.map(commandBlock).join('')}</details>`;
}

// Lab setup and the student's submission, in the order they ran.
export function setupSection(setup: CommandRecord[], submissionLabel: string | undefined): string {
  if (setup.length === 0) return '';
  const groups: string[] = [];
  const setupCmds = setup.filter((c) => c.phase !== 'submission');
  const submission = setup.filter((c) => c.phase === 'submission');
  if (setupCmds.length) groups.push(commandGroup('Lab setup', setupCmds, 'setup-group'));
  if (submission.length) groups.push(commandGroup(`Submission${submissionLabel ? `: ${submissionLabel}` : ''}`, submission, 'submission-group'));
  return `<section class="card" id="setup" data-testid="setup"><h2>Setup and submission</h2>${groups.join('')}</section>`;
}

// tcpdump -e puts the link layer first ("MAC > MAC, ethertype IPv4 (0x0800), length 98: ..."): dim it.
function packetSummary(summary: string): string {
  const m = /^(.+?, length \d+:) (.*)$/s.exec(summary);
  return m ? `<span class="l2">${esc(m[1])}</span> ${esc(m[2])}` : esc(summary);
}

// One capture: where it ran, its filter, packet count, a download link, errors, the first packets.
function captureBlock(c: CaptureResult): string {
  const href = safeRelativeHref(c.file);
  const fileName = c.file.split('/').pop() || `${c.name}.pcap`;
  const link = href && !c.error ? `<a href="${esc(href)}" download data-testid="pcap-link">Download ${esc(fileName)}</a>` : '';
  const shown = c.packets.length;
  const rows = c.packets.map((p) => `<tr data-testid="packet-row"><td class="num">${esc(p.no)}</td><td class="num">${esc(p.time)}</td>`
    + `<td class="sum">${packetSummary(p.summary)}</td></tr>`).join('');
  const table = shown
    ? `<table class="packets"><thead><tr><th>No.</th><th>Time (s)</th><th>Summary</th></tr></thead><tbody>${rows}</tbody></table>`
      + (shown < c.packetCount ? `<p class="muted">First ${shown} of ${c.packetCount} packets; download the file for all of them.</p>` : '')
    : (c.error ? '' : '<p class="muted">No packets matched.</p>');
  return `<div class="capture" id="${idFor('capture', c.name)}" data-testid="capture" data-capture="${esc(c.name)}">`
    + `<div class="capture-head"><strong>${esc(c.name)}</strong><span class="mono muted">${esc(c.machine)}:${esc(c.interface)}</span>${c.side === 'host' ? '<span class="muted" data-testid="capture-host-side">taken on the host side of the link</span>' : ''}`
    + (c.filter ? `<span><span class="muted">filter</span> <code>${esc(c.filter)}</code></span>` : '<span class="muted">no filter</span>')
    + `<span data-testid="packet-count">${esc(c.packetCount)} packet${c.packetCount === 1 ? '' : 's'}</span>${link}</div>`
    + (c.error ? `<p class="error-text" data-testid="capture-error">${esc(c.error)}</p>` : '')
    + `${table}</div>`;
}

export function capturesSection(captures: CaptureResult[]): string {
  if (captures.length === 0) return '';
  return `<section class="card" id="captures" data-testid="captures"><h2>Packet captures <span class="count">${captures.length}</span></h2>`
    + `${captures.map(captureBlock).join('')}</section>`;
}

// Final state: the collect commands, grouped by machine in the order the machines first appear.
export function finalStateSection(collected: CommandRecord[]): string {
  if (collected.length === 0) return '';
  const byMachine = new Map<string, CommandRecord[]>();
  for (const c of collected) byMachine.set(c.machine, [...(byMachine.get(c.machine) ?? []), c]);
  const groups = [...byMachine].map(([machine, cmds]) => commandGroup(machine, cmds, 'final-machine', true));
  return `<section class="card" id="final-state" data-testid="final-state"><h2>Final state</h2>${groups.join('')}</section>`;
}
