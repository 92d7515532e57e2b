// One SSH connection per machine (ssh2), many commands over it: exec with a time limit and output
// limits, SFTP file transfer, a connect that waits for sshd with retries, and one transparent
// reconnect when the connection went away under us (guest restarted, network hiccup).
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { constants as osConstants } from 'node:os';
import { performance } from 'node:perf_hooks';
import {
  Client, type CipherAlgorithm, type ClientChannel, type KexAlgorithm, type SFTPWrapper, type ServerHostKeyAlgorithm,
} from 'ssh2';
import { InfraError } from './errors.ts';
import type { ExecOptions, ExecResult, Machine, MachineEndpoint } from './types.ts';

export interface ConnectOptions {
  /** Total budget for all attempts, milliseconds (default 20 000). */
  timeoutMs?: number;
  signal?: AbortSignal;
  /**
   * Commands running at once on this connection; more wait their turn. OpenSSH refuses channels past
   * its MaxSessions (default 10, the SFTP session included), so the default is 9.
   */
  maxSessions?: number;
}

const DEFAULT_CONNECT_BUDGET_MS = 20_000;
const ATTEMPT_TIMEOUT_MS = 5_000;
const MIN_ATTEMPT_TIMEOUT_MS = 250;
const BACKOFF_FIRST_MS = 100;
const BACKOFF_MAX_MS = 1_000;
const DEFAULT_MAX_OUTPUT = 1024 * 1024;
const DEFAULT_MAX_SESSIONS = 9;
/** The guest-side deadline fires this long after ours, so the kill always lands after we timed out. */
const REMOTE_DEADLINE_MARGIN_MS = 250;
/** After that, how long more to wait for the guest to report the kill before giving up on it. */
const KILL_CONFIRM_MS = 1_500;
const CLOSE_WAIT_MS = 2_000;
/** How long a refused session (MaxSessions reached) is retried. */
const SESSION_REFUSED_RETRY_MS = 5_000;
/**
 * Channel open failure reasons worth a retry for a session: OpenSSH 9.2 answers "open failed" with
 * SSH_OPEN_CONNECT_FAILED (2) past MaxSessions; others use ADMINISTRATIVELY_PROHIBITED (1) or
 * RESOURCE_SHORTAGE (4).
 */
const SESSION_REFUSED_REASONS: ReadonlySet<unknown> = new Set([1, 2, 4]);

// Fast on an emulated CPU (measured, see DESIGN.md "SSH"): curve25519 key exchange and AES-GCM, with
// the usual algorithms after them so any sshd still works. Exact lists: ssh2 validates each name.
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
 * How a timed-out command is killed, and why this way (all checked against OpenSSH 9.2):
 * - Closing the channel kills nothing: sshd just detaches from a child that still runs
 *   ("session_close_by_channel: has child").
 * - The SSH `signal` request (OpenSSH >= 7.9: killpg() on the session) is refused for root logins,
 *   which run without privilege separation ("session signalling requires privilege separation") —
 *   and our guests log in as root. It is also refused for forced commands, has no reply, and cannot
 *   arrive at all once the connection is gone.
 * - So the command carries its own deadline inside the guest: `timeout --signal=KILL` (coreutils, in
 *   every image) runs it under `bash -c` and, without --foreground, kills its whole process group on
 *   expiry: the command, its children and its background jobs (sshd made the session a process group
 *   of its own). That works whatever happens to the client or the connection.
 * The guest deadline is ours plus a small margin, so the kill lands after our timer fired. At our
 * deadline we mark the result timed out, still send the signal request (it works for non-root users),
 * and wait for the channel to report the death: when the result resolves, the processes are gone.
 * If no report comes (an image without `timeout`, a stuck guest), we close the channel and resolve
 * anyway after KILL_CONFIRM_MS. Without a time limit the command goes to the login shell untouched.
 */
export function withRemoteDeadline(command: string, timeoutMs: number): string {
  const secs = ((timeoutMs + REMOTE_DEADLINE_MARGIN_MS) / 1000).toFixed(3);
  const inner = `bash -c ${shellQuote(command)}`;
  // In a netlab guest the same deadline costs no program start (two more execs are ~100 ms of
  // emulated CPU per command): a forked watchdog waits on netlab-init's never-written FIFO and then,
  // if the command's shell ($$) still runs, kills the session's process group as timeout would. A
  // command that ends first kills the watchdog, so what it started in the background lives on.
  const builtin = `{ read -t ${secs} _ <> ${NAP_FIFO}; kill -0 $$ && kill -KILL 0; } >/dev/null 2>&1 </dev/null & netlab_w=$!;`
    + ` ( eval ${shellQuote(command)} ); netlab_rc=$?; kill $netlab_w 2>/dev/null; exit $netlab_rc`;
  return `if [ -p ${NAP_FIFO} ]; then ${builtin}; elif command -v timeout >/dev/null 2>&1; then exec timeout --signal=KILL ${secs} ${inner}; else exec ${inner}; fi`;
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

/** A counting semaphore: at most `limit` channels open at once. */
class Slots {
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

/** A command started on a channel; its exit status, once the server sent it. */
interface Started {
  conn: Connection;
  channel: ClientChannel;
  exit: { code: number | null; signal?: string } | undefined;
}

interface Connection {
  client: Client;
  alive: boolean;
  /** Why it ended, for messages. */
  lastError?: Error;
  sftp?: Promise<SFTPWrapper>;
  /** Fails every command still running on this connection when it drops. */
  onLost: Set<(err: InfraError) => void>;
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
  private conn: Connection;
  private reconnecting: Promise<Connection> | undefined;
  private closing: Promise<void> | undefined;
  private readonly slots: Slots;

  private constructor(endpoint: MachineEndpoint, conn: Connection, private readonly options: ConnectOptions) {
    this.name = endpoint.name;
    this.endpoint = endpoint;
    this.conn = conn;
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

  /** The open connection, reconnecting (shared by concurrent callers) if it has gone away. */
  private async live(): Promise<Connection> {
    if (this.closing) throw new InfraError(`${this.name}: the SSH connection was closed`);
    if (this.conn.alive) return this.conn;
    this.reconnecting ??= SshMachine.open(this.endpoint, this.options).then((conn) => {
      if (this.closing) { conn.client.end(); throw new InfraError(`${this.name}: the SSH connection was closed`); }
      this.conn = conn;
      return conn;
    }).finally(() => { this.reconnecting = undefined; });
    return this.reconnecting;
  }

  private async openChannel(command: string): Promise<Started> {
    let reconnected = !this.conn.alive;
    const refusedUntil = performance.now() + SESSION_REFUSED_RETRY_MS;
    let backoff = 10;
    for (;;) {
      const conn = await this.live();
      try {
        return await new Promise<Started>((resolve, reject) => {
          conn.client.exec(command, (err, channel) => {
            if (err) { reject(err); return; }
            // Listen now, in this callback: for a quick command the exit status arrives in the same
            // read as the reply to the exec request, and ssh2 emits 'exit' before any await resumes.
            const started: Started = { conn, channel, exit: undefined };
            channel.on('exit', (code: number | null, signal?: string) => { started.exit = { code, signal }; });
            resolve(started);
          });
        });
      } catch (err) {
        // The connection went away before the command started: reconnecting and starting it is safe.
        if (!conn.alive && !reconnected && !this.closing) { reconnected = true; continue; }
        // sshd refuses sessions past MaxSessions, and frees a finished one only a moment after its
        // channel closed: a short wait, then try again.
        if (conn.alive && SESSION_REFUSED_REASONS.has((err as { reason?: unknown }).reason)
          && performance.now() < refusedUntil) {
          await sleep(backoff);
          backoff = Math.min(backoff * 2, 200);
          continue;
        }
        if (err instanceof InfraError) throw err;
        throw new InfraError(`${this.name}: could not start a command: ${describeCause(err)}`, { cause: err });
      }
    }
  }

  async exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    await this.slots.acquire();
    try {
      const started = performance.now();
      const remote = opts.timeout !== undefined && opts.timeout > 0 ? withRemoteDeadline(command, opts.timeout) : command;
      return await this.run(await this.openChannel(remote), opts, started);
    } finally {
      this.slots.release();
    }
  }

  private run(st: Started, opts: ExecOptions, started: number): Promise<ExecResult> {
    const { conn, channel } = st;
    return new Promise<ExecResult>((resolve, reject) => {
      const cap = opts.maxOutput ?? DEFAULT_MAX_OUTPUT;
      const out = new OutputCollector(cap, opts.onStdout);
      const err = new OutputCollector(cap, opts.onStderr);
      let timedOut = false;
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      let confirmTimer: NodeJS.Timeout | undefined;
      const opened = performance.now();

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
      const onLost = (e: InfraError) => { finish(timedOut ? undefined : e); };
      conn.onLost.add(onLost);

      channel.on('data', (b: Buffer) => out.push(b));
      channel.stderr.on('data', (b: Buffer) => err.push(b));
      channel.on('error', () => { /* surfaced as close without exit status, or connection loss */ });
      channel.on('close', () => {
        // Killed by the guest-side deadline a hair before our own timer fired: still a timeout.
        const exit = st.exit;
        if (opts.timeout && exit?.signal?.endsWith('KILL') && performance.now() - opened >= opts.timeout) timedOut = true;
        if (timedOut || exit) { finish(); return; }
        finish(new InfraError(conn.alive
          ? `${this.name}: the command ended without an exit status`
          : `${this.name}: SSH connection to ${this.endpoint.host}:${this.endpoint.port} lost while a command ran`));
      });

      if (opts.timeout !== undefined && opts.timeout > 0) {
        timer = setTimeout(() => {
          timedOut = true;
          sendKill(channel);
          // The guest-side deadline reports the kill within the margin; never hang if it does not.
          confirmTimer = setTimeout(() => {
            try { channel.close(); } catch { /* already closed */ }
            finish();
          }, REMOTE_DEADLINE_MARGIN_MS + KILL_CONFIRM_MS);
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

  async download(remotePath: string, localPath: string): Promise<void> {
    try {
      const sftp = await this.sftp();
      await new Promise<void>((resolve, reject) => {
        sftp.fastGet(remotePath, localPath, (e) => (e ? reject(e) : resolve()));
      });
    } catch (err) {
      throw new InfraError(`${this.name}: download of ${this.name}:${remotePath} to ${localPath} failed: ${describeCause(err)}`, { cause: err });
    }
  }

  /** One SFTP session per connection, opened on first use. */
  private async sftp(): Promise<SFTPWrapper> {
    const conn = await this.live();
    if (!conn.sftp) {
      const opening = new Promise<SFTPWrapper>((resolve, reject) => {
        conn.client.sftp((e, s) => (e ? reject(e) : resolve(s)));
      });
      conn.sftp = opening;
      const forget = () => { if (conn.sftp === opening) conn.sftp = undefined; };
      // A session that ended or failed is opened afresh next time; its errors reach the callers.
      opening.then((s) => s.on('close', forget).on('error', forget), forget);
    }
    return conn.sftp;
  }

  /** Ends the connection; idempotent. Commands after this reject. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      // A reconnect under way sees `closing` and ends its new connection itself.
      await this.reconnecting?.catch(() => undefined);
      const c = this.conn;
      if (!c.alive) { c.client.destroy(); return; }
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => { c.client.destroy(); resolve(); }, CLOSE_WAIT_MS);
        c.client.once('close', () => { clearTimeout(t); resolve(); });
        c.client.end();
      });
    })();
    return this.closing;
  }
}

/** The SSH `signal` request, KILL: see withRemoteDeadline for when sshd honours it. */
function sendKill(channel: ClientChannel): void {
  // ClientChannel.signal() silently does nothing once stdin has been ended (it checks `writable` and
  // state 'open'), and exec always ends stdin: send the channel request through ssh2's protocol object.
  // After our EOF the channel is still open for requests (state 'eof'), as the SSH protocol allows.
  const ch = channel as unknown as {
    outgoing?: { id: number; state: string };
    _client?: { _protocol?: { signal(id: number, name: string): void } };
  };
  try {
    const state = ch.outgoing?.state;
    const protocol = ch._client?._protocol;
    if ((state === 'open' || state === 'eof') && protocol) protocol.signal(ch.outgoing!.id, 'KILL');
    else channel.signal('KILL');
  } catch { /* the guest-side deadline kills the command */ }
}
