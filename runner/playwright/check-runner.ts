// Runs in Playwright's workers: a lab.yaml check (run or capture) against the guest, judged.
import type { CheckResult, CommandRecord } from '../../reports/model.ts';
import type { Machine } from '../../vm/types.ts';
import { judgeCapture, judgePartial, judgeRun, pointsFor, type Verdict } from '../lab/grade.ts';
import type { CaptureCheck, CaptureSpec, Check, RunCheck } from '../lab/schema.ts';
import { decodePcap } from '../../reports/pcap.ts';
import { countCaptureCommand, record } from './guest-commands.ts';
import { setTimeout as sleep } from 'node:timers/promises';

type Step = <T>(title: string, body: () => Promise<T>) => Promise<T>;


export function resultOf(check: Check, v: Verdict, commands: CommandRecord[], started: number, extra: Partial<CheckResult> = {}): CheckResult {
  return {
    id: check.id, name: check.name, status: v.pass ? 'passed' : 'failed',
    points: pointsFor(check.points, v), maxPoints: check.points, visibility: check.visibility,
    ...(check.group ? { group: check.group } : {}),
    hint: check.hint, expected: v.expected, got: v.got,
    feedback: v.pass ? check.feedback?.pass : check.feedback?.fail,
    durationMs: Date.now() - started, commands, ...extra,
  };
}

// Polls (when the check says `until`) and keeps the last attempt's evidence for the report.
export async function poll(check: Check, attempt: (n: number) => Promise<Verdict>): Promise<Verdict> {
  const deadline = Date.now() + (check.until ?? 0);
  for (let n = 1; ; n++) {
    const v = await attempt(n);
    if (v.pass || Date.now() + check.interval > deadline) return v;
    await sleep(check.interval);
  }
}

export function machineDown(check: Check, err: unknown, commands: CommandRecord[], started: number): CheckResult {
  const msg = err instanceof Error ? err.message : String(err);
  return { ...resultOf(check, { pass: false, expected: '', got: `could not run: ${msg}` }, commands, started), status: 'error', reason: msg };
}

export async function runCommandCheck(check: RunCheck, machine: Machine, step: Step): Promise<CheckResult> {
  const started = Date.now();
  const commands: CommandRecord[] = [];
  try {
    const v = await poll(check, (n) => step(`[${check.on}] ${check.run}${n > 1 ? ` (attempt ${n})` : ''}`, async () => {
      const r = await record(machine, 'check', check.run, { timeout: check.timeout, attempt: n });
      // Keep the first and the latest attempts: enough to show what changed without flooding the report.
      if (commands.length >= 2) commands.pop();
      commands.push(r);
      return check.partial ? judgePartial(check, r) : judgeRun(check, r);
    }));
    return resultOf(check, v, commands, started);
  } catch (err) {
    return machineDown(check, err, commands, started);
  }
}

// The capture's own filter and the check's, over the unfiltered frames the host recorded.
async function countOnHost(file: string, capture: CaptureSpec, check: CaptureCheck, attempt: number): Promise<CommandRecord> {
  const filter = [capture.filter, check.expect.packets].filter((f) => f.trim()).map((f) => `(${f})`).join(' and ');
  const t0 = Date.now();
  const base = { phase: 'check', machine: 'host', command: `tcpdump -r ${capture.name}.pcap${filter ? ` '${filter}'` : ''} | count`, attempt, timedOut: false, truncated: false } as const;
  try {
    const { packetCount } = await decodePcap(file, { filter, limit: 0, timeoutMs: check.timeout });
    return { ...base, exitCode: 0, stdout: `${packetCount}\n`, stderr: '', durationMs: Date.now() - t0 };
  } catch (err) {
    return { ...base, exitCode: 1, stdout: '', stderr: (err as Error).message, durationMs: Date.now() - t0 };
  }
}

/** hostFile: the capture is taken on the host side of its link; its packets are counted there. */
export async function runCaptureCheck(check: CaptureCheck, capture: CaptureSpec, machineOf: (name: string) => Machine, step: Step, hostFile?: string): Promise<CheckResult> {
  const started = Date.now();
  const commands: CommandRecord[] = [];
  try {
    const v = await poll(check, (n) => step(`[${hostFile ? 'host' : capture.on}] count '${check.expect.packets}' in capture ${capture.name}`, async () => {
      const r = hostFile
        ? await countOnHost(hostFile, capture, check, n)
        : await record(machineOf(capture.on), 'check', countCaptureCommand(capture.name, check.expect.packets), { timeout: check.timeout, attempt: n });
      if (commands.length >= 2) commands.pop();
      commands.push(r);
      if (r.exitCode !== 0) return { pass: false, expected: judgeCapture(check, 0).expected, got: `capture could not be read: ${(r.stderr || r.stdout).trim()}` };
      return judgeCapture(check, Number.parseInt(r.stdout.trim(), 10) || 0);
    }));
    return resultOf(check, v, commands, started, { capture: capture.name });
  } catch (err) {
    return machineDown(check, err, commands, started);
  }
}
