// SSH to one machine (ssh2): exec with a time limit and output limits, SFTP file transfer, a connect
// that waits for the server with retries (connect.ts), and one transparent reconnect when a connection
// went away under us (guest restarted, network hiccup). The shell text it sends is command-text.ts's.
//
// One command per connection at a time: a command that finds every connection busy opens another.
// The guests' server is dropbear 2022.83 (Debian 12), which closes a session channel that is still
// waiting for its exec request when any other session's process exits meanwhile, and then dies on
// an assertion with every command of that connection (mkj/dropbear#321, fixed upstream in 2024.86).
// A connection with one command never has another process that could exit in that window.
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { constants as osConstants } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { ClientChannel, SFTPWrapper } from 'ssh2';
import { positiveIntFromEnv } from '../env-limit.ts';
import { DownloadTooLargeError, InfraError } from '../errors.ts';
import { framed, tagged, tagKillCommand } from './command-text.ts';
import { describeCause, openConnection, type OpenOptions } from './connect.ts';
import { ConnectionPool, Slots, type Connection } from './pool.ts';
import type { ExecOptions, ExecResult, Machine, MachineEndpoint } from '../types.ts';

export interface ConnectOptions extends OpenOptions {
  /** Commands running at once (each on a connection of its own); more wait their turn. Default 9. */
  maxSessions?: number;
}

/** Bytes one download (a capture, a spec check's file) may copy from a guest. */
export const DEFAULT_DOWNLOAD_LIMIT = 64 * 1024 * 1024;
export function downloadLimit(env: NodeJS.ProcessEnv = process.env): number {
  return positiveIntFromEnv(env.NETLAB_MAX_DOWNLOAD, DEFAULT_DOWNLOAD_LIMIT);
}
const DEFAULT_MAX_OUTPUT = 1024 * 1024;
const DEFAULT_MAX_SESSIONS = 9;
/** After our deadline, how long to wait for the guest to report the kill before giving up on it. */
const KILL_CONFIRM_MS = 1_500;
/** New connections being set up at once (dropbear drops a sixth unauthenticated one from one address). */
const MAX_OPENING = 3;

function exitCodeOf(exit: { code: number | null; signal?: string } | undefined): number | null {
  if (!exit) return null;
  if (exit.code !== null) return exit.code;
  // Killed by a signal: report it as a shell would ($? = 128 + signal number).
  const name = exit.signal?.startsWith('SIG') ? exit.signal : `SIG${exit.signal}`;
  const n = exit.signal ? (osConstants.signals as Record<string, number>)[name] : undefined;
  return n === undefined ? null : 128 + n;
}

/** One output stream: UTF-8 decoded as it arrives (characters split across chunks survive), capped. */
class OutputCollector {
  // ignoreBOM: keep output verbatim; fatal: false: invalid bytes become U+FFFD instead of throwing.
  private readonly decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  private readonly parts: string[] = [];
  private bytes = 0;
  truncated = false;
  callbackError: unknown;

  constructor(private readonly cap: number, private callback: ((chunk: string) => void) | undefined) {}

  push(chunk: Buffer): void {
    if (this.truncated) return; // past the cap: drained and dropped, so the remote never blocks
    let piece: Buffer = chunk;
    if (this.bytes + chunk.length > this.cap) {
      piece = chunk.subarray(0, Math.max(0, this.cap - this.bytes));
      this.truncated = true;
    }
    this.bytes += piece.length;
    // Always streaming: a character cut by the cap stays in the decoder and is never emitted.
    this.emit(this.decoder.decode(piece, { stream: true }));
  }

  finish(): string {
    if (!this.truncated) this.emit(this.decoder.decode());
    return this.parts.join('');
  }

  private emit(text: string): void {
    if (!text) return;
    this.parts.push(text);
    if (!this.callback) return;
    try {
      this.callback(text);
    } catch (err) {
      // A throwing callback must not crash the process from an event handler: stop calling it, and
      // the exec rejects with that error once the command is over.
      this.callbackError ??= err;
      this.callback = undefined;
    }
  }
}

/** A command started on a channel; its exit status, once the server sent it. */
interface Started {
  conn: Connection;
  channel: ClientChannel;
  exit: { code: number | null; signal?: string } | undefined;
  /** The server closed the channel (so the command's own process is gone). */
  closed: boolean;
}

export class SshMachine implements Machine {
  readonly name: string;
  readonly endpoint: MachineEndpoint;
  private readonly pool: ConnectionPool;
  private closing: Promise<void> | undefined;
  private readonly slots: Slots;

  private constructor(endpoint: MachineEndpoint, conn: Connection, options: ConnectOptions) {
    this.name = endpoint.name;
    this.endpoint = endpoint;
    this.pool = new ConnectionPool(conn, () => openConnection(endpoint, options), MAX_OPENING);
    this.slots = new Slots(options.maxSessions ?? DEFAULT_MAX_SESSIONS);
  }

  /** Connects (see openConnection: retries until the budget is spent, a wrong key fails at once). */
  static async connect(endpoint: MachineEndpoint, opts: ConnectOptions = {}): Promise<SshMachine> {
    const conn = await openConnection(endpoint, opts);
    return new SshMachine(endpoint, conn, opts);
  }

  private readonly closedError = () => new InfraError(`${this.name}: the SSH connection was closed`);

  /** Starts a command on a connection of its own; a connection that dropped is replaced once. */
  private async openChannel(command: string): Promise<Started> {
    for (let retried = false; ; retried = true) {
      const conn = await this.pool.take(this.closedError);
      try {
        return await new Promise<Started>((resolve, reject) => {
          conn.client.exec(command, (err, channel) => {
            if (err) { reject(err); return; }
            // Listen now, in this callback: for a quick command the exit status arrives in the same
            // read as the reply to the exec request, and ssh2 emits 'exit' before any await resumes.
            const started: Started = { conn, channel, exit: undefined, closed: false };
            channel.on('exit', (code: number | null, signal?: string) => { started.exit = { code, signal }; });
            channel.on('close', () => { started.closed = true; });
            resolve(started);
          });
        });
      } catch (err) {
        this.pool.retire(conn);
        // The connection went away before the command started: starting it on a new one is safe.
        if (!conn.alive && !retried && !this.pool.isClosed) continue;
        if (err instanceof InfraError) throw err;
        throw new InfraError(`${this.name}: could not start a command: ${describeCause(err)}`, { cause: err });
      }
    }
  }

  async exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    await this.slots.acquire();
    try {
      const started = performance.now();
      const guestKill = opts.timeout !== undefined && opts.timeout > 0 && opts.killInGuest !== false;
      const { remote, input } = framed(command, opts.input);
      const tag = guestKill ? randomBytes(12).toString('hex') : undefined;
      const st = await this.openChannel(tag ? tagged(remote, tag) : remote);
      try {
        return await this.run(st, { ...opts, input }, started, tag);
      } finally {
        this.release(st);
      }
    } finally {
      this.slots.release();
    }
  }

  // At a tagged command's deadline: a session of its own kills what the command started (see tagged).
  // Not through exec(): its slots may all be held by commands that are waiting for this very kill.
  private async killTagged(tag: string): Promise<void> {
    const st = await this.openChannel(tagKillCommand(tag));
    try {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, KILL_CONFIRM_MS);
        st.channel.on('close', () => { clearTimeout(timer); resolve(); });
        st.channel.on('error', () => {});
        st.channel.resume();
        st.channel.stderr.resume();
        st.channel.end();
      });
    } finally {
      this.release(st);
    }
  }

  // A connection is reused only once the server closed its channel: its command's process has been reaped.
  private release(st: Started): void {
    if (st.closed) this.pool.give(st.conn); else this.pool.retire(st.conn);
  }

  private run(st: Started, opts: ExecOptions, started: number, tag?: string): Promise<ExecResult> {
    const { conn, channel } = st;
    return new Promise<ExecResult>((resolve, reject) => {
      const cap = opts.maxOutput ?? DEFAULT_MAX_OUTPUT;
      const out = new OutputCollector(cap, opts.onStdout);
      const err = new OutputCollector(cap, opts.onStderr);
      let timedOut = false;
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      let confirmTimer: NodeJS.Timeout | undefined;

      const finish = (failure?: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        clearTimeout(confirmTimer);
        conn.onLost.delete(onLost);
        const stdout = out.finish();
        const stderr = err.finish();
        if (failure) { reject(failure); return; }
        const callbackError = out.callbackError ?? err.callbackError;
        if (callbackError !== undefined) { reject(callbackError); return; }
        resolve({
          exitCode: timedOut ? null : exitCodeOf(st.exit), stdout, stderr,
          durationMs: Math.round(performance.now() - started), timedOut, truncated: out.truncated || err.truncated,
        });
      };
      // A timed-out command stays a result even if the connection drops while we wait for the kill.
      // A tagged command that lost its connection is killed over another one: nobody reads its result,
      // and it must not run on past its time limit (a student's loop hogging the emulated CPU).
      const onLost = (e: InfraError) => {
        if (tag && !timedOut && !this.pool.isClosed) this.killTagged(tag).catch(() => {});
        finish(timedOut ? undefined : e);
      };
      conn.onLost.add(onLost);

      channel.on('data', (b: Buffer) => out.push(b));
      channel.stderr.on('data', (b: Buffer) => err.push(b));
      channel.on('error', () => { /* surfaced as close without exit status, or connection loss */ });
      channel.on('close', () => finish(timedOut || st.exit ? undefined : this.endedWithoutStatus(conn)));

      if (opts.timeout !== undefined && opts.timeout > 0) {
        timer = setTimeout(() => {
          timedOut = true;
          confirmTimer = this.killAtDeadline(channel, tag, () => finish());
        }, opts.timeout);
      }

      // stdin: the input, then EOF (also without input: a command reading stdin must not wait forever).
      channel.end(opts.input ?? '');
    });
  }

  // The kill is reported as the channel closing; never hang if it is not. Without a kill, give up at
  // once (the channel closed here retires its connection). Returns the timer that gives up.
  private killAtDeadline(channel: ClientChannel, tag: string | undefined, finish: () => void): NodeJS.Timeout {
    if (tag) this.killTagged(tag).catch(() => { /* the confirm timer settles it */ });
    return setTimeout(() => {
      try { channel.close(); } catch { /* already closed */ }
      finish();
    }, tag ? 2 * KILL_CONFIRM_MS : 0);
  }

  private endedWithoutStatus(conn: Connection): InfraError {
    return new InfraError(conn.alive
      ? `${this.name}: the command ended without an exit status`
      : `${this.name}: SSH connection to ${this.endpoint.host}:${this.endpoint.port} lost while a command ran`);
  }

  async upload(localPath: string, remotePath: string): Promise<void> {
    try {
      const { mode } = await stat(localPath);
      const sftp = await this.sftp();
      await new Promise<void>((resolve, reject) => {
        // Keep the permission bits, so an uploaded script stays executable.
        sftp.fastPut(localPath, remotePath, { mode: mode & 0o7777 }, (e) => (e ? reject(e) : resolve()));
      });
    } catch (err) {
      throw new InfraError(`${this.name}: upload of ${localPath} to ${this.name}:${remotePath} failed: ${describeCause(err)}`, { cause: err });
    }
  }

  /**
   * Copies a guest file to the host, at most `maxBytes` of it (default: the download limit). The
   * guest is untrusted: a file over the limit (a sparse one claims any size) is refused before a byte
   * is copied, and the copy reads no further than the limit however the file grows meanwhile.
   */
  async download(remotePath: string, localPath: string, opts: { maxBytes?: number } = {}): Promise<void> {
    const max = opts.maxBytes ?? downloadLimit();
    let size: number;
    try {
      const sftp = await this.sftp();
      size = await new Promise<number>((resolve, reject) => sftp.stat(remotePath, (e, st) => (e ? reject(e) : resolve(st.size))));
      // Read no further than the limit, whatever the file claims: a device (/dev/zero behind a link)
      // says 0 bytes and never ends.
      if (size <= max) {
        await pipeline(sftp.createReadStream(remotePath, { start: 0, end: max - 1 }), createWriteStream(localPath));
        // It said less than the limit and gave the whole limit: it grows, or never ends.
        if (size < max && (await stat(localPath)).size >= max) size = Infinity;
      }
    } catch (err) {
      throw new InfraError(`${this.name}: download of ${this.name}:${remotePath} to ${localPath} failed: ${describeCause(err)}`, { cause: err });
    }
    if (size > max) {
      await rm(localPath, { force: true });
      throw new DownloadTooLargeError(`${this.name}:${remotePath} is ${Number.isFinite(size) ? `${size} bytes` : 'endless'}, over the download limit of ${max} bytes (NETLAB_MAX_DOWNLOAD)`);
    }
  }

  /** One SFTP session per machine, opened on first use on a connection that runs nothing else meanwhile. */
  private async sftp(): Promise<SFTPWrapper> {
    if (this.pool.sftp?.conn.alive) return this.pool.sftp.session;
    const conn = await this.pool.take(this.closedError);
    const session = new Promise<SFTPWrapper>((resolve, reject) => {
      conn.client.sftp((e, s) => (e ? reject(e) : resolve(s)));
    });
    const entry = { conn, session };
    this.pool.sftp = entry;
    const forget = () => { if (this.pool.sftp === entry) this.pool.sftp = undefined; };
    // A session that ended or failed is opened afresh next time; its errors reach the callers.
    session.then((s) => s.on('close', forget).on('error', forget), forget);
    // Once its server runs, the connection may take commands again (dropbear's race is only with a
    // channel still waiting for its request).
    await session.catch(() => undefined).finally(() => this.pool.give(conn));
    return session;
  }

  /** Ends the connections; idempotent. Commands after this reject. */
  close(): Promise<void> {
    this.closing ??= this.pool.close();
    return this.closing;
  }
}

