// A guest's console at a bounded cost: an endless line is cut and dropped, not buffered; the console
// log stops at its cap with one line saying so.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CappedLog, ConsoleLines, consoleLogBytes, DEFAULT_CONSOLE_LOG_BYTES } from '../../vm/qemu/console-lines.ts';

test('lines split across chunks come out whole, CRLF or LF, and the last one at the end', () => {
  const out: string[] = [];
  const c = new ConsoleLines((l) => out.push(l));
  c.push('netlab: boo');
  c.push('t ok\r\nsecond\nthi');
  c.push('rd');
  c.end();
  assert.deepEqual(out, ['netlab: boot ok', 'second', 'third']);
});

test('a line that never ends is cut at the cap and its rest dropped up to the next newline', () => {
  const out: string[] = [];
  const c = new ConsoleLines((l) => out.push(l), 8);
  c.push('x'.repeat(5));
  for (let i = 0; i < 10_000; i++) c.push('y'.repeat(1000));
  c.push('zzz\nnext\n');
  assert.deepEqual(out, ['xxxxxyyy [line cut at 8 characters]', 'next']);
});

test('an endless line costs linear time: 64 MB of one line in well under a second', () => {
  let lines = 0;
  const c = new ConsoleLines(() => { lines++; });
  const chunk = 'A'.repeat(65536);
  const t = performance.now();
  for (let i = 0; i < 1024; i++) c.push(chunk);
  c.end();
  assert.equal(lines, 1);
  assert.ok(performance.now() - t < 1000, `${performance.now() - t} ms`);
});

test('the console log stops at its cap with one line saying so', () => {
  let text = '';
  const log = new CappedLog((t) => { text += t; }, 20);
  log.line('0123456789');
  log.line('abcdefghij');
  log.line('more');
  assert.equal(text, '0123456789\n[netlab: console log full at 20 bytes; later output dropped]\n');
  assert.equal(consoleLogBytes({}), DEFAULT_CONSOLE_LOG_BYTES);
  assert.equal(consoleLogBytes({ NETLAB_MAX_CONSOLE: '1024' }), 1024);
});
