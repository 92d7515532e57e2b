import { createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { CappedLog, ConsoleLines, consoleLogBytes } from './console-lines.ts';
import { InfraError } from '../errors.ts';
import type { EventSink } from '../events.ts';
import { qemuArgs, type QemuMachineSpec } from './args.ts';
import { recordPid, type RunDir } from '../runtime.ts';

export const QEMU_BINARY = 'qemu-system-x86_64';

/**
 * The command prefix that starts a program with umask 0007, when its files must be open to its group:
 * the sockets a QEMU that drops to the set's group makes before it drops (its link socket, which the
 * set's other QEMUs send to; the run folder's setgid bit gives them that group).
 */
/**
 * A QEMU that drops to a user of its own loses its parent-death signal (the kernel clears it when a
 * process changes its ids), so it would outlive a kill -9 of netlab-run. This watchdog stays root and
 * reads a pipe that only netlab-run holds open: end of file means netlab-run is gone, however it
 * died, and the watchdog kills the QEMU (if that pid is still a QEMU). netlab-run kills the watchdog
 * itself once the QEMU has exited.
 */
function exitWithUs(qemuPid: number): ResultPromise {
  return execa('sh', ['-c', 'read -r _; [ "$(cat "/proc/$0/comm" 2>/dev/null)" = qemu-system-x86 ] && kill -KILL "$0"', String(qemuPid)], {
    stdin: 'pipe', stdout: 'ignore', stderr: 'ignore', reject: false, buffer: false,
  });
}

export function groupShared(on: boolean): string[] {
  return on ? ['sh', '-c', 'umask 0007 && exec "$0" "$@"'] : [];
}
const READY_MARKER = 'NETLAB-READY';
const LINK_MARKER = 'NETLAB-LINK-UP';
const FAIL_MARKER = 'NETLAB-FAIL:';
const CONSOLE_TAIL_LINES = 40;

// One QEMU process: started, watched through its serial console, always killable. The console is
// the only reliable readiness signal: slirp accepts TCP before the SSH server is up, and an early SSH attempt
// hangs until its own timeout.
export class QemuProcess {
  readonly spec: QemuMachineSpec;
  readonly consoleLog: string;
  private child: ResultPromise | undefined;
  private tail: string[] = [];
  private log: WriteStream | undefined;
  private capped: CappedLog | undefined;
  private exitInfo: { code: number | null; signal: string | undefined } | undefined;
  private waiters: Array<() => void> = [];
  private readySeen = false;
  private linkSeen = false;
  private failLine: string | undefined;
  private watchdog: ResultPromise | undefined;

  constructor(spec: QemuMachineSpec, private readonly runDir: RunDir, private readonly onEvent: EventSink) {
    this.spec = spec;
    this.consoleLog = join(runDir.path, `${spec.name}.console.log`);
  }

  get pid(): number | undefined { return this.child?.pid; }
  get exited(): boolean { return this.exitInfo !== undefined; }

  consoleTail(): string { return this.tail.join('\n'); }

  async start(): Promise<void> {
    this.log = createWriteStream(this.consoleLog, { flags: 'a' });
    // --pdeathsig: the kernel kills QEMU if netlab-run dies, even by kill -9, so no VM outlives us.
    this.child = execa('setpriv', ['--pdeathsig', 'KILL', '--', ...groupShared(this.spec.runAs !== undefined), QEMU_BINARY, ...qemuArgs(this.spec)], {
      stdin: 'ignore', stdout: 'pipe', stderr: 'pipe', reject: false, buffer: false, cleanup: true,
      cwd: this.runDir.path,
    });
    if (this.child.pid) await recordPid(this.runDir, this.spec.name, this.child.pid, this.spec.runAs?.uid);
    if (this.child.pid && this.spec.runAs) this.watchdog = exitWithUs(this.child.pid);
    const log = this.log;
    this.capped = new CappedLog((t) => log.write(t), consoleLogBytes());
    // One splitter per stream: QEMU's own stderr must not join the guest's unfinished console line.
    const splitters = [new ConsoleLines((l) => this.onLine(l)), new ConsoleLines((l) => this.onLine(l))];
    this.child.stdout?.setEncoding('utf8').on('data', (t: string) => splitters[0]!.push(t));
    this.child.stderr?.setEncoding('utf8').on('data', (t: string) => splitters[1]!.push(t));
    this.child.then((r) => {
      this.watchdog?.kill('SIGKILL');
      for (const s of splitters) s.end();
      this.exitInfo = { code: r.exitCode ?? null, signal: r.signal ?? undefined };
      this.log?.end();
      this.wake();
    }, () => { this.exitInfo = { code: null, signal: 'error' }; this.wake(); });
  }

  private onLine(raw: string) {
    const line = raw.replace(/\x1b\[[0-9;?]*[a-zA-Z]/g, '').replace(/\r/g, '');
    this.capped?.line(line);
    this.tail.push(line);
    if (this.tail.length > CONSOLE_TAIL_LINES) this.tail.shift();
    if (line.includes(READY_MARKER)) this.readySeen = true;
    if (line.includes(LINK_MARKER)) this.linkSeen = true;
    if (line.includes(FAIL_MARKER)) this.failLine = line.slice(line.indexOf(FAIL_MARKER));
    this.onEvent({ type: 'boot-line', machine: this.spec.name, line });
    this.wake();
  }

  private wake() {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private changed(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.waiters.push(() => { clearTimeout(t); resolve(); });
    });
  }

  /** Resolves when the guest printed its ready marker; throws InfraError on exit, failure or timeout. */
  async waitReady(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.readySeen) return;
      if (signal?.aborted) throw new InfraError(`boot of ${this.spec.name} aborted`);
      if (this.failLine) throw new InfraError(`${this.spec.name}: guest failed to start: ${this.failLine}`, { fix: this.consoleHint() });
      if (this.exitInfo) {
        throw new InfraError(`${this.spec.name}: QEMU exited (code ${this.exitInfo.code ?? this.exitInfo.signal}) before the guest was ready`, { fix: this.consoleHint() });
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new InfraError(`${this.spec.name}: guest not ready after ${Math.round(timeoutMs / 1000)} s`, { fix: this.consoleHint() });
      await this.changed(Math.min(left, 500));
    }
  }

  /** Whether the guest said eth0's operstate is up (netlab-init, after ready) within `timeoutMs`. */
  async waitLinkUp(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.linkSeen && !this.exitInfo && Date.now() < deadline) await this.changed(Math.min(200, deadline - Date.now()));
    return this.linkSeen;
  }

  private consoleHint(): string {
    return `last console lines (full log: ${this.consoleLog}):\n${this.tail.slice(-12).join('\n')}`;
  }

  /** Kill QEMU and wait until the process is gone. Idempotent. */
  async kill(): Promise<void> {
    if (!this.child || this.exitInfo) return;
    this.child.kill('SIGKILL');
    const deadline = Date.now() + 5000;
    while (!this.exitInfo && Date.now() < deadline) await this.changed(100);
  }

  /** Wait for QEMU to exit by itself (e.g. the guest powered off). */
  async waitExit(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.exitInfo && Date.now() < deadline) await this.changed(Math.min(200, deadline - Date.now()));
    return this.exitInfo !== undefined;
  }
}
