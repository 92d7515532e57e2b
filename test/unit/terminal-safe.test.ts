// Guest text never reaches the terminal raw: escape sequences (cursor moves, line erases, OSC 52
// clipboard writes, titles) are removed, other control characters shown as symbols.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { terminalSafe } from '../../reports/terminal-safe.ts';
import { formatTerminalSummary } from '../../reports/terminal.ts';
import { progressPrinter } from '../../runner/orchestrate/progress.ts';
import { sampleResult } from '../../reports/fixtures/sample-result.ts';

const ATTACKS = [
  '\x1b[2K\x1b[1A\x1b[1GScore: 22/22',           // erase the line above, print a fake score
  '\x1b]52;c;ZWNobyBwd25lZA==\x07',                // OSC 52: write the clipboard
  '\x1b]0;pwned\x1b\\',                            // window title, ST-terminated
  '\x1bP+q544e\x1b\\',                             // DCS query
  '\x9b2J',                                         // 8-bit CSI: clear the screen
  '\x1bc',                                          // full reset
  'a\rb\x08c\x07\x00',                              // CR, backspace, bell, NUL
];

test('escape sequences are removed whole and control characters made visible', () => {
  assert.equal(terminalSafe(ATTACKS[0]!), 'Score: 22/22');
  assert.equal(terminalSafe(ATTACKS[1]!), '');
  assert.equal(terminalSafe(ATTACKS[2]!), '');
  assert.equal(terminalSafe(ATTACKS[3]!), '');
  assert.equal(terminalSafe(ATTACKS[4]!), '');
  assert.equal(terminalSafe(ATTACKS[5]!), '');
  assert.equal(terminalSafe(ATTACKS[6]!), 'a␍b␈c␇␀');
  assert.equal(terminalSafe('line 1\r\nline 2\n\tindented ✓ 中文'), 'line 1\nline 2\n\tindented ✓ 中文');
  assert.equal(terminalSafe('\u202eevil'), '�evil', 'bidi overrides cannot reorder what staff read');
});

const NO_ESC = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/;

test('the terminal summary prints a check\'s guest output without its escape sequences', () => {
  const r = sampleResult();
  const failed = r.checks.find((c) => c.status === 'failed')!;
  failed.got = ATTACKS.join(' ');
  failed.reason = ATTACKS.join('\n');
  r.error = ATTACKS[0];
  const text = formatTerminalSummary(r, { color: false });
  assert.doesNotMatch(text, NO_ESC);
  assert.match(text, /got .*Score: 22\/22/);
});

test('progress lines from the guest console are made safe before they are printed', () => {
  const written: string[] = [];
  const write = process.stderr.write;
  process.stderr.write = ((s: string) => { written.push(s); return true; }) as typeof process.stderr.write;
  try {
    const p = progressPrinter({ verbose: true });
    for (const a of ATTACKS) p({ type: 'boot-line', machine: 'host', line: a });
    p({ type: 'boot-retry', machine: 'host', attempt: 2, reason: ATTACKS[1]! } as Parameters<typeof p>[0]);
  } finally {
    process.stderr.write = write;
  }
  assert.ok(written.length >= ATTACKS.length);
  for (const w of written) assert.doesNotMatch(w.replace(/\n$/, ''), NO_ESC, JSON.stringify(w));
});
