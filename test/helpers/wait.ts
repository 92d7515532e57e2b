// Waiting helpers in the style of the NixOS test driver, all built on the one exec primitive.
import { performance } from 'node:perf_hooks';
import { shellQuote } from '../../vm/ssh/command-text.ts';
import type { ExecOptions, ExecResult, Machine } from '../../vm/types.ts';

export interface RetryOptions {
  /** Give up after this long, milliseconds (default 60 000). 0: a single try. */
  timeoutMs?: number;
  /** Pause between tries, milliseconds (default 500). */
  intervalMs?: number;
  signal?: AbortSignal;
}

const DEFAULT_TIMEOUT_MS = 60_000;
const DEFAULT_INTERVAL_MS = 500;
/** Most of the output kept in an error message. */
const MESSAGE_OUTPUT_CHARS = 2_000;

/** A retry that ran out of time while `fn` kept answering "not yet" (undefined). */
export class RetryTimeoutError extends Error {
  override name = 'RetryTimeoutError';
  constructor(message: string, readonly attempts: number) {
    super(message);
  }
}

/** A command that exited non-zero or ran out of time: the student's doing, not the infrastructure's. */
export class CommandFailedError extends Error {
  override name = 'CommandFailedError';
  constructor(readonly machine: string, readonly command: string, readonly result: ExecResult, summary?: string) {
    const what = result.timedOut
      ? `timed out after ${result.durationMs} ms`
      : `failed with exit code ${result.exitCode ?? 'unknown'}`;
    super(`${machine}: ${summary ?? `command ${what}`}: ${command}${describeOutput(result)}`);
  }
}

function tail(s: string): string {
  const t = s.trimEnd();
  return t.length > MESSAGE_OUTPUT_CHARS ? `…${t.slice(-MESSAGE_OUTPUT_CHARS)}` : t;
}

function describeOutput(r: ExecResult): string {
  let s = '';
  if (r.stdout.trim()) s += `\n--- stdout ---\n${tail(r.stdout)}`;
  if (r.stderr.trim()) s += `\n--- stderr ---\n${tail(r.stderr)}`;
  return s || '\n(no output)';
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
 * Calls `fn` until it returns something other than undefined, and returns that. `fn` is told when it
 * is on its last try (no time left for another), so it can throw with what it saw. A try that throws
 * counts as "not yet" — except the last one, whose error is thrown as is. If the last try returns
 * undefined, a RetryTimeoutError is thrown (its cause: the last error seen, if any).
 */
export async function retry<T>(
  fn: (lastTry: boolean, attempt: number) => Promise<T | undefined>,
  opts: RetryOptions = {},
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const intervalMs = opts.intervalMs ?? DEFAULT_INTERVAL_MS;
  const deadline = performance.now() + timeoutMs;
  let lastError: unknown;
  for (let attempt = 1; ; attempt++) {
    opts.signal?.throwIfAborted();
    const lastTry = performance.now() + intervalMs >= deadline;
    try {
      const value = await fn(lastTry, attempt);
      if (value !== undefined) return value;
    } catch (err) {
      if (lastTry) throw err;
      lastError = err;
    }
    if (lastTry) {
      throw new RetryTimeoutError(`gave up after ${attempt} ${attempt === 1 ? 'try' : 'tries'} in ${(timeoutMs / 1000).toFixed(1)} s`
        + (lastError instanceof Error ? `; last error: ${lastError.message}` : ''), attempt);
    }
    await sleep(intervalMs, opts.signal);
  }
}

/** Runs the command and returns its stdout; throws a CommandFailedError if it exits non-zero or times out. */
export async function succeed(machine: Machine, command: string, opts: ExecOptions = {}): Promise<string> {
  const r = await machine.exec(command, opts);
  if (r.timedOut || r.exitCode !== 0) throw new CommandFailedError(machine.name, command, r);
  return r.stdout;
}

/**
 * Runs the command until it succeeds and returns its stdout. Each try is limited to the time left, so
 * a hanging try cannot outlive the wait. On timeout, throws with the last try's exit code and output.
 * A try that throws (an InfraError: the guest is restarting, the connection dropped) is tried again
 * like a failure; if the last try throws, that error is thrown.
 */
export async function waitUntilSucceeds(machine: Machine, command: string,
  opts: RetryOptions & Pick<ExecOptions, 'maxOutput'> = {}): Promise<string> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const deadline = performance.now() + timeoutMs;
  return retry(async (lastTry) => {
    const left = Math.max(500, Math.round(deadline - performance.now()));
    const r = await machine.exec(command, { timeout: left, maxOutput: opts.maxOutput });
    if (!r.timedOut && r.exitCode === 0) return r.stdout;
    if (lastTry) {
      const last = r.timedOut ? `timed out after ${r.durationMs} ms` : `exited ${r.exitCode ?? 'unknown'}`;
      throw new CommandFailedError(machine.name, command, r,
        `command did not succeed within ${(timeoutMs / 1000).toFixed(1)} s (last try ${last})`);
    }
    return undefined;
  }, { ...opts, timeoutMs });
}

export interface PortOptions extends RetryOptions {
  /** Only a listener on this local address counts (default: any address). */
  addr?: string;
  /** udp instead of tcp (default tcp). */
  protocol?: 'tcp' | 'udp';
}

/**
 * Waits until something listens on the port inside the machine. Asks the kernel (`ss`, from iproute2,
 * always in the image) rather than connecting, unlike the NixOS driver's `nc -z`: a probe connection
 * would be eaten by a one-shot server such as `nc -l`, which many labs use.
 */
export async function waitForOpenPort(machine: Machine, port: number, opts: PortOptions = {}): Promise<void> {
  await waitUntilSucceeds(machine, listenerCheck(port, opts), opts);
}

/** Waits until nothing listens on the port any more. */
export async function waitForClosedPort(machine: Machine, port: number, opts: PortOptions = {}): Promise<void> {
  await waitUntilSucceeds(machine, `! { ${listenerCheck(port, opts)}; }`, opts);
}

function listenerCheck(port: number, opts: PortOptions): string {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`not a port number: ${port}`);
  const flags = opts.protocol === 'udp' ? '-Hlun' : '-Hltn';
  // ss prints IPv6 addresses in brackets in its filter syntax too.
  const src = opts.addr ? `src ${opts.addr.includes(':') ? `[${opts.addr}]` : opts.addr}:${port}` : `sport = :${port}`;
  return `ss ${flags} ${shellQuote(src)} | grep -q .`;
}
