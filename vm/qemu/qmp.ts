import { connect, type Socket } from 'node:net';
import { InfraError } from '../errors.ts';
import { setTimeout as sleep } from 'node:timers/promises';

// QMP, QEMU's JSON control protocol: request/response over a unix socket. Used instead of HMP text
// with sleeps, where commands got lost.
export class Qmp {
  private buf = '';
  private pending: { resolve: (v: unknown) => void; reject: (e: Error) => void }[] = [];
  private greeted: Promise<void>;
  /** Called with every asynchronous event QEMU sends (VSERPORT_CHANGE, SHUTDOWN, ...). */
  onEvent: ((event: string, data: Record<string, unknown>) => void) | undefined;

  private constructor(private readonly sock: Socket) {
    let greet!: () => void;
    this.greeted = new Promise((r) => { greet = r; });
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      this.buf += d;
      let nl: number;
      while ((nl = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, nl).trim();
        this.buf = this.buf.slice(nl + 1);
        if (!line) continue;
        const msg = JSON.parse(line) as { QMP?: unknown; return?: unknown; error?: { desc: string }; event?: string; data?: Record<string, unknown> };
        if (msg.QMP) greet();
        else if (msg.event) this.onEvent?.(msg.event, msg.data ?? {});
        else {
          const p = this.pending.shift();
          if (msg.error) p?.reject(new InfraError(`QMP: ${msg.error.desc}`));
          else p?.resolve(msg.return);
        }
      }
    });
    sock.on('close', () => { for (const p of this.pending.splice(0)) p.reject(new InfraError('QMP connection closed')); });
  }

  /** Connects once QEMU has created the socket (it may still be starting). */
  static async connect(path: string, timeoutMs = 10_000): Promise<Qmp> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const sock = await new Promise<Socket>((resolve, reject) => {
          const s = connect(path, () => resolve(s));
          s.once('error', reject);
        });
        const q = new Qmp(sock);
        await q.greeted;
        await q.execute('qmp_capabilities');
        return q;
      } catch (err) {
        if (Date.now() > deadline) throw new InfraError(`no QMP socket at ${path}`, { cause: err });
        await sleep(10);
      }
    }
  }

  execute<T = unknown>(command: string, args?: Record<string, unknown>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ resolve: resolve as (v: unknown) => void, reject });
      this.sock.write(JSON.stringify(args ? { execute: command, arguments: args } : { execute: command }) + '\n');
    });
  }

  /** Polls until `done` says yes about the command's answer. */
  async until<T>(command: string, done: (r: T) => boolean, timeoutMs: number, what: string): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = await this.execute<T>(command);
      if (done(r)) return r;
      if (Date.now() > deadline) throw new InfraError(`timed out waiting for ${what}: ${JSON.stringify(r)}`);
      // A restore waits on this while the state loads (~10 ms): a coarse poll would add its slack to every restore.
      await new Promise((res) => setTimeout(res, 2));
    }
  }

  close(): void { this.sock.destroy(); }
}
