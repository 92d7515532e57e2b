import { randomBytes } from 'node:crypto';
import type { ExecOptions, ExecResult, Machine } from '../types.ts';

// Several commands in one SSH exec, each with its own output, exit code and time. Under software
// emulation every exec costs a channel, a server fork and a bash start-up (≈ 100 ms of guest CPU), so
// read-only batches (a lab's final state) pay it once. Each command runs in its own subshell with
// stdin closed, so an `exit` or a `cd` in one does not reach the next.

/** The script that runs `commands` one after another and marks where each one's output ends. */
export function batchScript(commands: string[], nonce: string): string {
  const parts = commands.map((c, i) =>
    `s=$EPOCHREALTIME; ( ${c}\n) </dev/null; rc=$?; printf '\\n${nonce} ${i} %d %s %s\\n' $rc $s $EPOCHREALTIME; printf '\\n${nonce} ${i}\\n' >&2`);
  return parts.join('\n');
}

// Splits a batch's output into one result per command. A command whose end marker is missing did not
// finish: it is the one the batch's timeout (or a lost machine) cut, and the ones after it never ran.
export function splitBatch(commands: string[], nonce: string, whole: ExecResult, maxOutput = Infinity): ExecResult[] {
  const outMarks = [...whole.stdout.matchAll(new RegExp(`\\n${nonce} (\\d+) (\\d+) ([\\d.]+) ([\\d.]+)\\n`, 'g'))];
  const errMarks = [...whole.stderr.matchAll(new RegExp(`\\n${nonce} (\\d+)\\n`, 'g'))];
  const results: ExecResult[] = [];
  let outAt = 0;
  let errAt = 0;
  let cut = false;
  const keep = (s: string) => (s.length > maxOutput ? s.slice(0, maxOutput) : s);
  for (let i = 0; i < commands.length; i++) {
    const om = cut ? undefined : outMarks.find((m) => Number(m[1]) === i);
    if (!om) {
      // The first command without an end marker keeps what the batch printed after the last marker.
      const rest = { stdout: cut ? '' : whole.stdout.slice(outAt), stderr: cut ? 'not run: an earlier command of the batch did not finish' : whole.stderr.slice(errAt) };
      results.push({ exitCode: null, stdout: keep(rest.stdout), stderr: keep(rest.stderr), durationMs: 0, timedOut: !cut && whole.timedOut, truncated: !cut && whole.truncated });
      cut = true;
      continue;
    }
    const em = errMarks.find((m) => Number(m[1]) === i);
    const stdout = whole.stdout.slice(outAt, om.index);
    const stderr = em ? whole.stderr.slice(errAt, em.index) : '';
    outAt = om.index! + om[0].length;
    if (em) errAt = em.index! + em[0].length;
    results.push({
      exitCode: Number(om[2]), stdout: keep(stdout), stderr: keep(stderr),
      durationMs: Math.max(0, Math.round((Number(om[4]) - Number(om[3])) * 1000)), timedOut: false,
      truncated: stdout.length > maxOutput || stderr.length > maxOutput,
    });
  }
  return results;
}

/**
 * Runs `commands` on `machine` in one exec (see batchScript). `timeout` is for the whole batch;
 * `maxOutput` is per command.
 */
export async function execBatch(machine: Machine, commands: string[], opts: ExecOptions = {}): Promise<ExecResult[]> {
  if (commands.length === 0) return [];
  const nonce = `NETLAB-BATCH-${randomBytes(6).toString('hex')}`;
  const per = opts.maxOutput ?? Infinity;
  const whole = await machine.exec(batchScript(commands, nonce), {
    ...opts, maxOutput: Number.isFinite(per) ? per * commands.length + 256 * commands.length : undefined,
  });
  return splitBatch(commands, nonce, whole, per);
}
