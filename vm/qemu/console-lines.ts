// Splits a guest's serial console into lines at a bounded cost. The guest is untrusted: a line that
// never ends must not grow a buffer (or be re-split) without limit in the process that holds every VM,
// and the console log on the host's disk must not grow without limit either.
import { positiveIntFromEnv } from '../env-limit.ts';

/** A console line longer than this is cut, and its rest is dropped up to the next newline. */
export const MAX_CONSOLE_LINE = 4096;
/** Bytes of console kept in a machine's console log (NETLAB_MAX_CONSOLE overrides). */
export const DEFAULT_CONSOLE_LOG_BYTES = 4 * 1024 * 1024;

export class ConsoleLines {
  private partial = '';
  private dropping = false;
  constructor(private readonly onLine: (line: string) => void, private readonly maxLine = MAX_CONSOLE_LINE) {}

  push(chunk: string): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf('\n', start);
      const piece = chunk.slice(start, nl < 0 ? undefined : nl);
      if (!this.dropping) {
        this.partial += piece.slice(0, this.maxLine - this.partial.length + 1);
        if (this.partial.length > this.maxLine) {
          this.onLine(`${this.partial.slice(0, this.maxLine).replace(/\r$/, '')} [line cut at ${this.maxLine} characters]`);
          this.partial = '';
          this.dropping = true;
        }
      }
      if (nl < 0) return;
      if (!this.dropping) this.onLine(this.partial.replace(/\r$/, ''));
      this.partial = '';
      this.dropping = false;
      start = nl + 1;
    }
  }

  /** The unfinished last line, when the console closes. */
  end(): void {
    if (this.partial && !this.dropping) this.onLine(this.partial.replace(/\r$/, ''));
    this.partial = '';
  }
}

/** Writes at most `max` bytes, then one line saying the rest was dropped. */
export class CappedLog {
  private written = 0;
  private full = false;
  constructor(private readonly write: (text: string) => void, private readonly max: number) {}
  line(text: string): void {
    if (this.full) return;
    const bytes = Buffer.byteLength(text) + 1;
    if (this.written + bytes > this.max) {
      this.full = true;
      this.write(`[netlab: console log full at ${this.max} bytes; later output dropped]\n`);
      return;
    }
    this.written += bytes;
    this.write(text + '\n');
  }
}

export function consoleLogBytes(env: NodeJS.ProcessEnv = process.env): number {
  return positiveIntFromEnv(env.NETLAB_MAX_CONSOLE, DEFAULT_CONSOLE_LOG_BYTES);
}
