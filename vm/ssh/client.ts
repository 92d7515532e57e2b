// SSH to one machine (ssh2): exec with a time limit and output limits, SFTP file transfer, a connect
// that waits for the server with retries, and one transparent reconnect when a connection went away
// under us (guest restarted, network hiccup).
//
// One command per connection at a time: a command that finds every connection busy opens another.
// The guests' server is dropbear 2022.83 (Debian 12), which closes a session channel that is still
// waiting for its exec request when any other session's process exits meanwhile, and then dies on
// an assertion with every command of that connection (mkj/dropbear#321, fixed upstream in 2024.86).
// A connection with one command never has another process that could exit in that window.
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { readFile, rm, stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { constants as osConstants } from 'node:os';
import { performance } from 'node:perf_hooks';
import {
  Client, type CipherAlgorithm, type ClientChannel, type KexAlgorithm, type SFTPWrapper, type ServerHostKeyAlgorithm,
} from 'ssh2';
import { positiveIntFromEnv } from '../env-limit.ts';
import { DownloadTooLargeError, InfraError } from '../errors.ts';
import { ConnectionPool, Slots, type Connection } from './pool.ts';
import type { ExecOptions, ExecResult, Machine, MachineEndpoint } from '../types.ts';

export interface ConnectOptions {
  /** Total budget for all attempts, milliseconds (default 20 000). */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Commands running at once (each on a connection of its own); more wait their turn. Default 9. */
  maxSessions?: number;
}

const DEFAULT_CONNECT_BUDGET_MS = 20_000;
/** Bytes one download (a capture, a spec check's file) may copy from a guest. */
export const DEFAULT_DOWNLOAD_LIMIT = 64 * 1024 * 1024;
export function downloadLimit(env: NodeJS.ProcessEnv = process.env): number {
  return positiveIntFromEnv(env.NETLAB_MAX_DOWNLOAD, DEFAULT_DOWNLOAD_LIMIT);
}
const ATTEMPT_TIMEOUT_MS = 5_000;
const MIN_ATTEMPT_TIMEOUT_MS = 250;
const BACKOFF_FIRST_MS = 100;
const BACKOFF_MAX_MS = 1_000;
const DEFAULT_MAX_OUTPUT = 1024 * 1024;
const DEFAULT_MAX_SESSIONS = 9;
/** After our deadline, how long to wait for the guest to report the kill before giving up on it. */
const KILL_CONFIRM_MS = 1_500;
/** New connections being set up at once (dropbear drops a sixth unauthenticated one from one address). */
const MAX_OPENING = 3;
/**
 * Longer commands travel on stdin ahead of the input: dropbear ends the whole connection on an exec
 * request over 9000 bytes ("String too long").
 */
const MAX_INLINE_COMMAND = 8_000;

// Fast on an emulated CPU (measured under TCG): curve25519 key exchange and AES-GCM, with
// the usual algorithms after them so any SSH server still works. Exact lists: ssh2 validates each name.
const KEX: KexAlgorithm[] = ['curve25519-sha256', 'curve25519-sha256@libssh.org', 'ecdh-sha2-nistp256',
  'ecdh-sha2-nistp384', 'diffie-hellman-group14-sha256', 'diffie-hellman-group16-sha512'];
const CIPHERS: CipherAlgorithm[] = ['aes128-gcm@openssh.com', 'aes256-gcm@openssh.com', 'aes128-ctr', 'aes256-ctr'];

/** POSIX shell single quoting: safe for any string, including quotes, newlines and the empty string. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** A public key line (`ssh-ed25519 AAAA... comment`, or a known_hosts line) → type and raw key blob. */
export function parsePublicKeyLine(line: string): { type: string; blob: Buffer } {
  const tokens = line.trim().split(/\s+/);
  for (let i = 0; i + 1 < tokens.length; i++) {
    const type = tokens[i]!;
    const blob = Buffer.from(tokens[i + 1]!, 'base64');
    // The wire format starts with the key type as an SSH string: uint32 length, then the name.
    if (blob.length > 4 + type.length && blob.readUInt32BE(0) === type.length
      && blob.subarray(4, 4 + type.length).toString('latin1') === type) {
      return { type, blob };
    }
  }
  throw new Error(`not an OpenSSH public key line: ${JSON.stringify(line.slice(0, 80))}`);
}

function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

function hostKeyAlgorithms(type: string): ServerHostKeyAlgorithm[] {
  // Ask only for the key we can verify, so a server with several host keys presents that one.
  if (type === 'ssh-rsa') return ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];
  return [type as ServerHostKeyAlgorithm];
}

/** A connect failure in words a person recognises. */
function describeCause(err: unknown): string {
  const e = err as { code?: string; level?: string; message?: string } | undefined;
  switch (e?.code) {
    case 'ECONNREFUSED': return 'connection refused';
    case 'ECONNRESET': return 'connection reset';
    case 'ETIMEDOUT': return 'connection timed out';
    case 'EHOSTUNREACH': return 'host unreachable';
    case 'ENETUNREACH': return 'network unreachable';
  }
  if (e?.level === 'client-timeout') return 'handshake timed out';
  return e?.message ?? String(err);
}

function exitCodeOf(exit: { code: number | null; signal?: string } | undefined): number | null {
  if (!exit) return null;
  if (exit.code !== null) return exit.code;
  // Killed by a signal: report it as a shell would ($? = 128 + signal number).
  const name = exit.signal?.startsWith('SIG') ? exit.signal : `SIG${exit.signal}`;
  const n = exit.signal ? (osConstants.signals as Record<string, number>)[name] : undefined;
  return n === undefined ? null : 128 + n;
}

/**
 * How a timed-out command is killed, and why this way:
 * - Closing the channel kills nothing: OpenSSH just detaches from a child that still runs
 *   ("session_close_by_channel: has child"), and so does dropbear.
 * - The SSH `signal` request is not sent: OpenSSH (>= 7.9: killpg() on the session) refuses it for
 *   root logins, which run without privilege separation ("session signalling requires privilege
 *   separation"), and our guests log in as root; dropbear honours it but kills only the session's
 *   shell, so the channel would close, and the result resolve, while what that shell started still
 *   runs. It also cannot arrive at all once the connection is gone.
 * - So the command is tagged: it runs as `export NETLAB_EXEC=<nonce>; <command>` in the session's
 *   shell, and everything it starts inherits the tag in its environment (/proc/PID/environ), in the
 *   background, in another process group or session too. At our deadline we mark the result timed out
 *   and a second session (tagKillCommand) kills every tagged process and the session's shell (whose
 *   command line holds the tag); the channel then reports the death: when the result resolves, the
 *   processes are gone.
 * - An earlier wrapper ran the command in a job of its own with a forked watchdog; its two forks cost
 *   ~15–30 ms of emulated CPU on every command, the tag costs nothing until a command times out.
 * If no report comes (a stuck guest), we close the channel and resolve anyway after KILL_CONFIRM_MS.
 * Without a time limit the command goes to the login shell untouched.
 */
export function tagged(command: string, tag: string): string {
  return `export ${TAG_VAR}=${tag}; ${command}`;
}

const TAG_VAR = 'NETLAB_EXEC';

// Kills what a tagged command started (its environment holds the tag) and its session's shell (its
// command line does), three rounds to catch forks in flight. Bash builtins; the tag is assembled at
// run time, so this command's own shell, whose command line holds it in two pieces, is not a match.
export function tagKillCommand(tag: string): string {
  const half = Math.ceil(tag.length / 2);
  return `t=${tag.slice(0, half)}; t="${TAG_VAR}=\${t}${tag.slice(half)}"; for r in 1 2 3; do k=;`
    + ' for d in /proc/[0-9]*; do p=${d#/proc/}; [ "$p" = $$ ] && continue; e=(); c=();'
    + " mapfile -d '' -t e 2>/dev/null < $d/environ; mapfile -d '' -t c 2>/dev/null < $d/cmdline;"
    + ' case " ${e[*]} ${c[*]} " in *" $t "*|*" $t;"*) k="$k $p";; esac; done;'
    + ' [ -z "$k" ] && break; kill -KILL $k 2>/dev/null; done; true';
}

/** A FIFO netlab-init creates and nobody ever writes: `read -t` on it is a sleep without a process. */
export const NAP_FIFO = '/run/netlab-sleep';

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

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) { reject(signal.reason); return; }
    const onAbort = () => { clearTimeout(t); reject(signal!.reason); };
    const t = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve(); }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
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
    this.pool = new ConnectionPool(conn, () => SshMachine.open(endpoint, options), MAX_OPENING);
    this.slots = new Slots(options.maxSessions ?? DEFAULT_MAX_SESSIONS);
  }

  /**
   * Connects, retrying refused, reset and timed-out attempts (backoff 100 ms → 1 s) until the budget
   * is spent. A host key that does not match, or a refused key, fails at once: retrying cannot help.
   */
  static async connect(endpoint: MachineEndpoint, opts: ConnectOptions = {}): Promise<SshMachine> {
    const conn = await SshMachine.open(endpoint, opts);
    return new SshMachine(endpoint, conn, opts);
  }

  private static async open(endpoint: MachineEndpoint, opts: ConnectOptions): Promise<Connection> {
    const where = `${endpoint.host}:${endpoint.port}`;
    let expected: { type: string; blob: Buffer };
    try {
      expected = parsePublicKeyLine(endpoint.hostPublicKey);
    } catch (err) {
      throw new InfraError(`${endpoint.name}: bad host public key: ${(err as Error).message}`, { cause: err });
    }
    let privateKey: Buffer;
    try {
      privateKey = await readFile(endpoint.privateKeyPath);
    } catch (err) {
      throw new InfraError(`${endpoint.name}: cannot read the SSH private key ${endpoint.privateKeyPath}: ${describeCause(err)}`, { cause: err });
    }
    const budget = opts.timeoutMs ?? DEFAULT_CONNECT_BUDGET_MS;
    const deadline = performance.now() + budget;
    let backoff = BACKOFF_FIRST_MS;
    let attempts = 0;
    let lastCause: unknown;
    for (;;) {
      if (opts.signal?.aborted) throw new InfraError(`${endpoint.name}: SSH connect to ${where} aborted`, { cause: opts.signal.reason });
      attempts++;
      const remaining = deadline - performance.now();
      const outcome = await SshMachine.attempt(endpoint, privateKey, expected,
        Math.max(MIN_ATTEMPT_TIMEOUT_MS, Math.min(ATTEMPT_TIMEOUT_MS, remaining)), opts.signal);
      if ('conn' in outcome) return outcome.conn;
      if (outcome.hostKey) {
        throw new InfraError(`${endpoint.name}: the host key of ${where} did not match the expected key `
          + `(expected ${expected.type} ${fingerprint(expected.blob)}, got ${outcome.hostKey})`,
        { fix: 'The machine is not the one that was booted for this lab, or the image cache is stale: rebuild the image.' });
      }
      if ((outcome.error as { level?: string }).level === 'client-authentication') {
        throw new InfraError(`${endpoint.name}: ${where} refused the key ${endpoint.privateKeyPath} for user ${endpoint.user}`, { cause: outcome.error });
      }
      if (opts.signal?.aborted) throw new InfraError(`${endpoint.name}: SSH connect to ${where} aborted`, { cause: opts.signal.reason });
      lastCause = outcome.error;
      const left = deadline - performance.now();
      if (left <= 0) break;
      try {
        await sleep(Math.min(backoff, left), opts.signal);
      } catch (reason) {
        throw new InfraError(`${endpoint.name}: SSH connect to ${where} aborted`, { cause: reason });
      }
      backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
    }
    throw new InfraError(`${endpoint.name}: no SSH connection to ${where} within ${(budget / 1000).toFixed(1)} s `
      + `(${attempts} attempt${attempts === 1 ? '' : 's'}; last: ${describeCause(lastCause)})`, { cause: lastCause });
  }

  /** One connection attempt; never throws. */
  private static attempt(endpoint: MachineEndpoint, privateKey: Buffer, expected: { type: string; blob: Buffer },
    readyTimeout: number, signal: AbortSignal | undefined): Promise<{ conn: Connection } | { error: Error; hostKey?: string }> {
    return new Promise((resolve) => {
      const client = new Client();
      let mismatch: string | undefined;
      let settled = false;
      const conn: Connection = { client, alive: false, onLost: new Set() };
      const onAbort = () => { client.destroy(); };
      const settle = (v: { conn: Connection } | { error: Error; hostKey?: string }) => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        resolve(v);
      };
      const lost = () => {
        if (!settled) {
          settle({ error: conn.lastError ?? new Error('connection closed before the handshake completed'), hostKey: mismatch });
          return;
        }
        if (!conn.alive) return;
        conn.alive = false;
        const why = conn.lastError ? `: ${describeCause(conn.lastError)}` : '';
        const err = new InfraError(`${endpoint.name}: SSH connection to ${endpoint.host}:${endpoint.port} lost${why}`, { cause: conn.lastError });
        for (const fail of [...conn.onLost]) fail(err);
        conn.onLost.clear();
      };
      // Always listen: ssh2 emits 'error' for keepalive timeouts and socket errors at any time.
      client.on('error', (err) => {
        conn.lastError = err;
        if (!settled) { client.destroy(); settle({ error: err, hostKey: mismatch }); }
      });
      client.on('ready', () => { conn.alive = true; settle({ conn }); });
      client.on('end', lost);
      client.on('close', lost);
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        client.connect({
          host: endpoint.host,
          port: endpoint.port,
          username: endpoint.user,
          privateKey,
          readyTimeout: readyTimeout,
          // Detect a dead guest even when no command is running; generous: a busy TCG guest is slow.
          keepaliveInterval: 5_000,
          keepaliveCountMax: 6,
          algorithms: { kex: KEX, cipher: CIPHERS, serverHostKey: hostKeyAlgorithms(expected.type) },
          // Without hostHash, ssh2 hands the verifier the raw key blob: compare it byte for byte.
          hostVerifier: (key: Buffer) => {
            if (key.equals(expected.blob)) return true;
            let type = '?';
            try { type = key.subarray(4, 4 + key.readUInt32BE(0)).toString('latin1'); } catch { /* keep '?' */ }
            mismatch = `${type} ${fingerprint(key)}`;
            return false;
          },
        });
        // Commands are small request/response exchanges: never hold a packet back (Nagle) waiting for
        // the ACK of the previous one.
        client.setNoDelay(true);
      } catch (err) {
        settle({ error: err as Error });
      }
    });
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
      let remote = command;
      let input = opts.input;
      if (Buffer.byteLength(remote) > MAX_INLINE_COMMAND) {
        // The login shell reads the command up to a NUL (which no command holds) and leaves the rest
        // of stdin to it.
        input = `${remote}\0${input ?? ''}`;
        remote = 'IFS= read -r -d \'\' netlab_cmd; eval "$netlab_cmd"';
      }
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
          exitCode: timedOut ? null : exitCodeOf(st.exit),
          stdout, stderr,
          durationMs: Math.round(performance.now() - started),
          timedOut,
          truncated: out.truncated || err.truncated,
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
      channel.on('close', () => {
        const exit = st.exit;
        if (timedOut || exit) { finish(); return; }
        finish(new InfraError(conn.alive
          ? `${this.name}: the command ended without an exit status`
          : `${this.name}: SSH connection to ${this.endpoint.host}:${this.endpoint.port} lost while a command ran`));
      });

      if (opts.timeout !== undefined && opts.timeout > 0) {
        timer = setTimeout(() => {
          timedOut = true;
          // The kill is reported as the channel closing; never hang if it is not. Without a kill,
          // give up at once (the channel closed here retires its connection).
          if (tag) this.killTagged(tag).catch(() => { /* the confirm timer settles it */ });
          confirmTimer = setTimeout(() => {
            try { channel.close(); } catch { /* already closed */ }
            finish();
          }, tag ? 2 * KILL_CONFIRM_MS : 0);
        }, opts.timeout);
      }

      // stdin: the input, then EOF (also without input: a command reading stdin must not wait forever).
      channel.end(opts.input ?? '');
    });
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

