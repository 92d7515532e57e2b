// Runs in Playwright's workers: a lab's own TypeScript check, judged.
import type { CheckResult, CommandRecord } from '../../reports/model.ts';
import { InfraError } from '../../vm/errors.ts';
import type { Machine } from '../../vm/types.ts';
import type { Verdict } from '../lab/grade.ts';
import { expect, type CheckContext, type CheckFunction, type CheckMachine } from '../lab/api.ts';
import type { SpecCheck } from '../lab/schema.ts';
import { machineDown, poll, resultOf } from './check-runner.ts';
import { record } from './guest-commands.ts';

type Step = <T>(title: string, body: () => Promise<T>) => Promise<T>;

export interface SpecCheckEnv {
  machines: Map<string, Machine>;
  down: Map<string, string>;
  /** The check's `on` machine, or the lab's first. */
  defaultMachine: string;
  kernel: { name: string; version: string };
  step: Step;
}

// Playwright's expect messages carry colours for terminals; reports want plain text.
const plain = (s: string) => s.replace(/\u001b\[[0-9;]*m/g, '');

class TimedOut extends Error {}

// Runs a lab's own TypeScript check like the YAML checks (the same polling with `until`), each
// attempt within `timeout`, every command recorded. A throw is the student's failure; an InfraError
// (the SSH connection or the machine is gone) is an error, as for the other kinds.
export async function runSpecCheck(check: SpecCheck, fn: CheckFunction, env: SpecCheckEnv): Promise<CheckResult> {
  const started = Date.now();
  let commands: CommandRecord[] = [];
  try {
    const v = await poll(check, async (attempt) => {
      commands = [];
      try {
        return await runAttempt(check, fn, env, attempt, commands);
      } catch (err) {
        if (err instanceof InfraError) throw err;
        return { pass: false, expected: '', got: failureText(err, check) };
      }
    });
    return resultOf(check, v, commands, started);
  } catch (err) {
    return machineDown(check, err, commands, started);
  }
}

async function runAttempt(check: SpecCheck, fn: CheckFunction, env: SpecCheckEnv, attempt: number, commands: CommandRecord[]): Promise<Verdict> {
  const ctx: CheckContext = {
    machine: (name = env.defaultMachine) => recordingMachine(env, name, check.timeout, commands, attempt),
    machines: [...env.machines.keys()].filter((n) => !env.down.has(n)),
    kernel: env.kernel,
    expect,
    step: env.step,
    attempt,
  };
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new TimedOut(`timed out after ${check.timeout / 1000} s`)), check.timeout); });
  try {
    const out = await Promise.race([Promise.resolve(fn(ctx)), limit]);
    return verdictOf(check, out);
  } finally {
    clearTimeout(timer);
  }
}

function verdictOf(check: SpecCheck, out: unknown): Verdict {
  if (out === undefined || out === null) return { pass: true, expected: '', got: 'passed' };
  const earned = typeof out === 'number' ? out : (out as { points?: unknown }).points;
  const got = typeof out === 'object' && typeof (out as { got?: unknown }).got === 'string' ? (out as { got: string }).got : undefined;
  if (typeof earned !== 'number' || !Number.isFinite(earned)) {
    throw new Error(`the check function returned ${JSON.stringify(out)}; expected nothing, a number of points, or { points, got }`);
  }
  const share = Math.min(1, Math.max(0, check.points > 0 ? earned / check.points : 1));
  return { pass: share >= 1, fraction: share, expected: `${check.points} points`, got: got ?? `${+(share * check.points).toFixed(2)} of ${check.points} points` };
}

function recordingMachine(env: SpecCheckEnv, name: string, timeout: number, commands: CommandRecord[], attempt: number): CheckMachine {
  const m = env.machines.get(name);
  const down = env.down.get(name);
  if (down) throw new InfraError(`machine ${name} is down: ${down}`);
  if (!m) throw new Error(`no machine named "${name}" in this lab (its machines: ${[...env.machines.keys()].join(', ')})`);
  return {
    name,
    exec: (command, opts = {}) => env.step(`[${name}] ${command}`, async () => {
      const r = await record(m, 'check', command, { timeout, ...opts, attempt });
      commands.push(r);
      return r;
    }),
    upload: (local, remote) => m.upload(local, remote),
    download: (remote, local) => m.download(remote, local),
  };
}

function failureText(err: unknown, check: SpecCheck): string {
  if (err instanceof TimedOut) return err.message;
  const msg = plain(err instanceof Error ? err.message : String(err)).trim();
  return msg || `${check.spec} threw ${String(err)}`;
}
