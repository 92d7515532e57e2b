import { BootStepError, InfraError } from './errors.ts';
import type { EventSink } from './events.ts';
import type { BootStep } from './types.ts';
import type { SshMachine } from './ssh/client.ts';

/** What a boot step's failure shows of its output: its last lines, which say why. */
const TAIL_LINES = 15;

const tail = (text: string) => text.trimEnd().split('\n').slice(-TAIL_LINES).join('\n');

/**
 * Runs a machine's boot steps in order, once, on the freshly booted guest (before its snapshot is
 * saved, so every restored copy has what they started). The guest holds no submission yet: the plain
 * SSH session is the lab's own.
 */
export async function runBootSteps(machine: string, ssh: SshMachine, steps: readonly BootStep[], emit: EventSink, signal?: AbortSignal): Promise<void> {
  // An interrupted run closes the session: the step running ends at once instead of at its limit.
  const stop = () => { void ssh.close(); };
  signal?.addEventListener('abort', stop, { once: true });
  try {
    for (const [i, step] of steps.entries()) {
      if (signal?.aborted) throw new InfraError(`${machine}: boot steps stopped (the run was interrupted)`);
      await runBootStep(machine, ssh, step, i, emit, signal);
    }
  } finally {
    signal?.removeEventListener('abort', stop);
  }
}

async function runBootStep(machine: string, ssh: SshMachine, step: BootStep, i: number, emit: EventSink, signal?: AbortSignal): Promise<void> {
  const label = step.name ?? step.run.split('\n')[0]!.slice(0, 60);
  const r = await ssh.exec(step.run, { timeout: step.timeoutMs });
  // Cut short by an interruption: not the step's failure (which is remembered for its machine shape).
  if (signal?.aborted) throw new InfraError(`${machine}: boot step "${label}" stopped (the run was interrupted)`);
  emit({ type: 'boot-step', machine, name: label, ms: Math.round(r.durationMs), exitCode: r.exitCode });
  if (r.exitCode === 0 && !r.timedOut) return;
  const how = r.timedOut ? `did not finish in ${step.timeoutMs / 1000} s` : `exited ${r.exitCode}`;
  const output = tail(`${r.stdout}\n${r.stderr}`);
  throw new BootStepError(`${machine}: boot step ${i + 1} "${label}" (${step.where ?? `lab.yaml machines.${machine}.boot[${i}]`}) ${how}${output ? `:\n${output}` : ''}`,
    { fix: `fix that command in lab.yaml; \`netlab-run shell <lab> ${machine}\` opens a shell on the machine to try it` });
}

/** Identifies a boot list in snapshot keys: the same commands and limits make the same state. */
export const bootStepsKey = (steps: readonly BootStep[] = []): string[] => steps.map((s) => `${s.timeoutMs}:${s.run}`);
