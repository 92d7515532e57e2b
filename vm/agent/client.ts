// The host's end of the grading agent (vm/build/guest-files/netlab-agent): JSON lines over the unix
// socket of QEMU's chardev behind the guest's virtio-serial port netlab.agent. The agent runs each
// command in the trusted context (the pristine read-only disk, a clean environment), so nothing the
// submission did to the guest's own programs, rc files or mounts reaches it.
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { DownloadTooLargeError, InfraError } from '../errors.ts';
import type { ExecOptions, ExecResult, Machine } from '../types.ts';

/** The agent did not answer in time: stopped (SIGSTOP) or killed by root in the guest, or the guest hung. */
export class AgentSilentError extends InfraError {
  override name = 'AgentSilentError';
}

/** A process the quarantine stopped, or kept (a service the lab declares, the lab's own from before). */
export interface QuarantinedProcess { pid: number; command: string; cgroup?: string }
export interface QuarantineResult { killed: QuarantinedProcess[]; kept: QuarantinedProcess[] }

interface Reply { id: string; error?: string; [k: string]: unknown }

/** Beyond a command's own time limit, how long the agent may take to say it was stopped. */
const GRACE_MS = 10_000;
const DEFAULT_TIMEOUT_MS = 60_000;

export class AgentMachine implements Machine {
  private buf = '';
  private seq = 0;
  private readonly prefix = randomBytes(4).toString('hex');
  private readonly pending = new Map<string, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();
  private closed = false;
  /** What the agent reported as tampering, as it happened (also returned by status()). */
  readonly tamperEvents: string[] = [];

  private constructor(readonly name: string, private readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (t: string) => this.onData(t));
    socket.on('close', () => this.fail(new AgentSilentError(`${name}: the grading agent's connection closed`)));
    socket.on('error', () => {});
  }

  /** Connects to the machine's agent socket and waits until the agent answers. */
  static async connect(name: string, socketPath: string, opts: { timeoutMs?: number } = {}): Promise<AgentMachine> {
    const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
    let last: unknown;
    while (Date.now() < deadline) {
      try {
        const socket = await new Promise<Socket>((resolve, reject) => {
          const s = connect(socketPath, () => resolve(s));
          s.once('error', reject);
        });
        const agent = new AgentMachine(name, socket);
        // The agent naps while no host is connected: the first answer can take one nap.
        await agent.request({ op: 'status' }, 5_000);
        return agent;
      } catch (err) {
        last = err;
        await sleep(200);
      }
    }
    throw new AgentSilentError(`${name}: the grading agent does not answer (${(last as Error)?.message ?? 'no reply'})`);
  }

  private onData(text: string): void {
    this.buf += text;
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl);
      this.buf = this.buf.slice(nl + 1);
      let msg: Reply & { event?: string; reason?: string };
      try { msg = JSON.parse(line); } catch { continue; }
      if (msg.event === 'tamper' && msg.reason) { if (!this.tamperEvents.includes(msg.reason)) this.tamperEvents.push(msg.reason); continue; }
      // A reply to a request of an earlier connection (a restarted worker) has an id nobody waits for.
      const p = this.pending.get(msg.id);
      if (!p) continue;
      this.pending.delete(msg.id);
      p.resolve(msg);
    }
  }

  private fail(err: Error): void {
    this.closed = true;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  private request(body: Record<string, unknown>, waitMs: number): Promise<Reply> {
    if (this.closed) return Promise.reject(new AgentSilentError(`${this.name}: the grading agent's connection is closed`));
    const id = `${this.prefix}-${++this.seq}`;
    return new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new AgentSilentError(`${this.name}: the grading agent did not answer within ${Math.round(waitMs / 1000)} s`));
      }, waitMs);
      this.pending.set(id, {
        resolve: (r) => { clearTimeout(timer); resolve(r); },
        reject: (e) => { clearTimeout(timer); reject(e); },
      });
      // A leading newline ends whatever partial line an earlier connection left in the port.
      this.socket.write(`\n${JSON.stringify({ ...body, id })}\n`);
    });
  }

  private async call(body: Record<string, unknown>, waitMs = DEFAULT_TIMEOUT_MS): Promise<Reply> {
    const r = await this.request(body, waitMs);
    if (r.error) throw new InfraError(`${this.name}: the grading agent: ${r.error}`);
    return r;
  }

  async exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    const timeout = opts.timeout ?? DEFAULT_TIMEOUT_MS;
    const r = await this.call({
      op: 'exec', cmd: command, timeout, max: opts.maxOutput ?? 1024 * 1024,
      ...(opts.input !== undefined ? { input: opts.input } : {}),
    }, timeout + GRACE_MS);
    const stdout = Buffer.from(String(r.out ?? ''), 'base64').toString('utf8');
    const stderr = Buffer.from(String(r.err ?? ''), 'base64').toString('utf8');
    if (stdout) opts.onStdout?.(stdout);
    if (stderr) opts.onStderr?.(stderr);
    return {
      exitCode: typeof r.rc === 'number' ? r.rc : null, stdout, stderr, durationMs: Number(r.ms ?? 0),
      timedOut: r.timedOut === true, truncated: r.truncated === true,
    };
  }

  upload(): Promise<void> {
    return Promise.reject(new InfraError(`${this.name}: the trusted context is read-only; files go to the guest over SSH`));
  }

  async download(remotePath: string, localPath: string, opts: { maxBytes?: number } = {}): Promise<void> {
    const max = opts.maxBytes ?? 64 * 1024 * 1024;
    const r = await this.call({ op: 'read', path: remotePath, max });
    if (r.tooLarge) throw new DownloadTooLargeError(`${remotePath} on ${this.name} is ${r.size} bytes, over the limit of ${max}`);
    await writeFile(localPath, Buffer.from(String(r.data ?? ''), 'base64'));
  }

  /** Remembers which processes exist now (before the submission): the quarantine spares them. */
  async census(name = 'pre-submission'): Promise<void> {
    await this.call({ op: 'census', name });
  }

  /** Kills every process the submission left, wherever it hid, except the services `keep` names. */
  async quarantine(keep: string[] = [], census = 'pre-submission'): Promise<QuarantineResult> {
    const r = await this.call({ op: 'quarantine', keep, census });
    return { killed: (r.killed as QuarantinedProcess[]) ?? [], kept: (r.kept as QuarantinedProcess[]) ?? [] };
  }

  /** Whether the SSH server that ran at the census still runs (flagged as tampering when not). */
  async sshServerRunning(census = 'pre-submission'): Promise<boolean> {
    return (await this.call({ op: 'ssh-server', census }, 15_000)).running !== false;
  }

  /** System programs, libraries, the loader's configuration and rc files the guest's own disk changed. */
  async scan(): Promise<string[]> {
    return ((await this.call({ op: 'scan' }, 120_000)).changed as string[]) ?? [];
  }

  /** What the agent saw tampered with since it started. */
  async status(): Promise<string[]> {
    const t = ((await this.call({ op: 'status' }, 15_000)).tampered as string[]) ?? [];
    for (const reason of t) if (!this.tamperEvents.includes(reason)) this.tamperEvents.push(reason);
    return [...this.tamperEvents];
  }

  async close(): Promise<void> {
    this.closed = true;
    this.socket.destroy();
  }
}
