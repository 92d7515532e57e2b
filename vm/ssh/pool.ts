// The SSH connections of one machine, each running one command at a time (see vm/ssh/client.ts for why):
// a command takes an idle connection or has a new one opened, and gives it back when its channel
// closed cleanly. Connections that dropped are forgotten; a closed pool ends them all.
import type { Client, SFTPWrapper } from 'ssh2';
import type { InfraError } from '../errors.ts';

export interface Connection {
  client: Client;
  alive: boolean;
  /** Why it ended, for messages. */
  lastError?: Error;
  /** Fails every command still running on this connection when it drops. */
  onLost: Set<(err: InfraError) => void>;
}

/** A counting semaphore. */
export class Slots {
  private used = 0;
  private readonly waiting: Array<() => void> = [];
  constructor(private readonly limit: number) {}
  async acquire(): Promise<void> {
    if (this.used < this.limit) { this.used++; return; }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }
  release(): void {
    const next = this.waiting.shift();
    if (next) next(); else this.used--;
  }
}

const CLOSE_WAIT_MS = 2_000;

export class ConnectionPool {
  private readonly all = new Set<Connection>();
  private readonly idle: Connection[] = [];
  private readonly opening: Slots;
  private closed = false;
  /** The SFTP session: one per machine, on a connection that runs commands too once it is up. */
  sftp: { conn: Connection; session: Promise<SFTPWrapper> } | undefined;

  constructor(first: Connection, private readonly open: () => Promise<Connection>, maxOpening: number) {
    this.opening = new Slots(maxOpening);
    this.adopt(first);
    this.idle.push(first);
  }

  get isClosed(): boolean { return this.closed; }

  /** An open connection running nothing, now yours until give() or retire(). */
  async take(closedError: () => Error): Promise<Connection> {
    for (;;) {
      if (this.closed) throw closedError();
      const ready = this.popIdle();
      if (ready) return ready;
      await this.opening.acquire();
      try {
        // One may have been given back while this waited for its turn to open.
        const back = this.popIdle();
        if (back) return back;
        if (this.closed) throw closedError();
        const conn = await this.open();
        if (this.closed) { conn.client.end(); throw closedError(); }
        this.adopt(conn);
        return conn;
      } finally {
        this.opening.release();
      }
    }
  }

  /** The connection's command is over and its channel closed: it may run the next one. */
  give(conn: Connection): void {
    if (conn.alive && !this.closed) this.idle.push(conn);
    else this.retire(conn);
  }

  /** Never reuse this connection (its command may still be running): end it. */
  retire(conn: Connection): void {
    this.forget(conn);
    if (conn.alive) conn.client.end(); else conn.client.destroy();
  }

  /** Ends every connection; idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    this.idle.length = 0;
    this.sftp = undefined;
    await Promise.all([...this.all].map((c) => endConnection(c)));
    this.all.clear();
  }

  private popIdle(): Connection | undefined {
    for (let c = this.idle.pop(); c; c = this.idle.pop()) {
      if (c.alive) return c;
      this.all.delete(c);
    }
    return undefined;
  }

  private adopt(conn: Connection): void {
    this.all.add(conn);
    conn.client.once('close', () => this.forget(conn));
  }

  private forget(conn: Connection): void {
    this.all.delete(conn);
    const i = this.idle.indexOf(conn);
    if (i >= 0) this.idle.splice(i, 1);
    if (this.sftp?.conn === conn) this.sftp = undefined;
  }
}

function endConnection(c: Connection): Promise<void> {
  if (!c.alive) { c.client.destroy(); return Promise.resolve(); }
  return new Promise<void>((resolve) => {
    const t = setTimeout(() => { c.client.destroy(); resolve(); }, CLOSE_WAIT_MS);
    c.client.once('close', () => { clearTimeout(t); resolve(); });
    c.client.end();
  });
}
