// Opening one SSH connection to a guest (ssh2): the host key checked against the one the machine
// was built with, fast algorithms for an emulated CPU, and retries while the guest's server comes up.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { Client, type CipherAlgorithm, type ConnectConfig, type KexAlgorithm, type ServerHostKeyAlgorithm } from 'ssh2';
import { InfraError } from '../errors.ts';
import type { Connection } from './pool.ts';
import type { MachineEndpoint } from '../types.ts';

export interface OpenOptions {
  /** Total budget for all attempts, milliseconds (default 20 000). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

const DEFAULT_CONNECT_BUDGET_MS = 20_000;
const ATTEMPT_TIMEOUT_MS = 5_000;
const MIN_ATTEMPT_TIMEOUT_MS = 250;
const BACKOFF_FIRST_MS = 100;
const BACKOFF_MAX_MS = 1_000;

// Fast on an emulated CPU (measured under TCG): curve25519 key exchange and AES-GCM, with
// the usual algorithms after them so any SSH server still works. Exact lists: ssh2 validates each name.
const KEX: KexAlgorithm[] = ['curve25519-sha256', 'curve25519-sha256@libssh.org', 'ecdh-sha2-nistp256',
  'ecdh-sha2-nistp384', 'diffie-hellman-group14-sha256', 'diffie-hellman-group16-sha512'];
const CIPHERS: CipherAlgorithm[] = ['aes128-gcm@openssh.com', 'aes256-gcm@openssh.com', 'aes128-ctr', 'aes256-ctr'];

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
export function describeCause(err: unknown): string {
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

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) { reject(signal.reason); return; }
    const onAbort = () => { clearTimeout(t); reject(signal!.reason); };
    const t = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve(); }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Connects, retrying refused, reset and timed-out attempts (backoff 100 ms → 1 s) until the budget
 * is spent. A host key that does not match, or a refused key, fails at once: retrying cannot help.
 */
export async function openConnection(endpoint: MachineEndpoint, opts: OpenOptions): Promise<Connection> {
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
    const outcome = await attempt(endpoint, privateKey, expected,
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
function attempt(endpoint: MachineEndpoint, privateKey: Buffer, expected: { type: string; blob: Buffer },
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
      client.connect(connectConfig(endpoint, privateKey, expected, readyTimeout, (found) => { mismatch = found; }));
      // Commands are small request/response exchanges: never hold a packet back (Nagle) waiting for
      // the ACK of the previous one.
      client.setNoDelay(true);
    } catch (err) {
      settle({ error: err as Error });
    }
  });
}

// The client's side of the handshake: our algorithms, the keepalive, and the host key check.
function connectConfig(endpoint: MachineEndpoint, privateKey: Buffer, expected: { type: string; blob: Buffer }, readyTimeout: number,
  onMismatch: (found: string) => void): ConnectConfig {
  return {
    host: endpoint.host,
    port: endpoint.port,
    username: endpoint.user,
    privateKey,
    readyTimeout,
    // Detect a dead guest even when no command is running; generous: a busy TCG guest is slow.
    keepaliveInterval: 5_000,
    keepaliveCountMax: 6,
    algorithms: { kex: KEX, cipher: CIPHERS, serverHostKey: hostKeyAlgorithms(expected.type) },
    // Without hostHash, ssh2 hands the verifier the raw key blob: compare it byte for byte.
    hostVerifier: (key: Buffer) => {
      if (key.equals(expected.blob)) return true;
      let type = '?';
      try { type = key.subarray(4, 4 + key.readUInt32BE(0)).toString('latin1'); } catch { /* keep '?' */ }
      onMismatch(`${type} ${fingerprint(key)}`);
      return false;
    },
  };
}
