// Runs in Playwright's workers.
// Untrusted code, graded not feared: runs the student's commands under the submission's limits and
// tells a student's crash (a machine powered off, or stopped answering) from an infrastructure
// failure. A crashed machine is marked down for the rest of the unit: the checks that need it score 0
// at once instead of waiting on SSH timeouts.
import type { CommandRecord } from '../../reports/model.ts';
import type { Machine } from '../../vm/types.ts';
import { brokerClient } from '../protocol/broker-client.ts';
import type { DownMachine, TamperNote } from '../protocol/units.ts';
import { AGENT_PORT_CLOSED } from '../../vm/types.ts';
import type { CrashNote } from '../protocol/wire.ts';
import { limitCountsCommand, parseLimitCounts, record, submissionCleanupCommand, submissionCommand, SUBMISSION_PIDS_MAX } from './guest-commands.ts';

/**
 * What the tests of one unit share in a worker: machines by name (SSH, the guest's own), where the
 * grader asks what happened (`trusted`: the grading agent), and those known to be down.
 */
export interface GuardedVms {
  machines: Map<string, Machine>; trusted: Map<string, Machine>; down: Map<string, string>;
  /** Machines whose SSH server the submission stopped: its later commands there cannot run; checks still do (agent). */
  noSsh: Map<string, string>;
  /** The grading agents, which know whether the SSH server of before the submission still runs. */
  agents: Map<string, { sshServerRunning(): Promise<boolean> }>;
}

const pidsReason = (n: number) => `it hit the limit of ${SUBMISSION_PIDS_MAX} processes (${n} fork${n === 1 ? '' : 's'} refused: a fork bomb?), so every process it started was killed; the machine itself kept running`;
const oomNote = (n: number) => `it ran out of its memory limit (${n} process${n === 1 ? '' : 'es'} killed)`;

/** How long a machine that looks dead gets to answer `true` before it is stopped. */
const PROBE_MS = 15_000;
/** How long to wait for QEMU to exit after the SSH connection dropped (a guest powering off). */
const POWEROFF_WAIT_MS = 5_000;

const broker = () => brokerClient();

function note(vms: GuardedVms, down: DownMachine[]): void {
  for (const d of down) if (!vms.down.has(d.machine)) vms.down.set(d.machine, d.reason);
}

// Whether a machine is still usable; undefined when it is, else why not (and it is then down for
// good: a machine that does not answer a trivial command within PROBE_MS is stopped).
export async function checkAlive(vms: GuardedVms, unitId: string, name: string, suspect: boolean): Promise<string | undefined> {
  if (vms.down.has(name)) return vms.down.get(name);
  const health: { down: DownMachine[]; tampered?: TamperNote[] } = await broker().health(unitId, suspect ? POWEROFF_WAIT_MS : 0).catch(() => ({ down: [] }));
  note(vms, health.down);
  if (vms.down.has(name)) return vms.down.get(name);
  const machine = vms.trusted.get(name);
  if (!machine) return undefined;
  try {
    const r = await machine.exec('true', { timeout: PROBE_MS });
    if (!r.timedOut && r.exitCode === 0) return undefined;
  } catch { /* no answer: below */ }
  // No answer from an agent the host saw die: the submission killed it (its doing, flagged).
  const killed = health.tampered?.find((t) => t.machine === name && t.reason === AGENT_PORT_CLOSED);
  const reason = killed ? agentKilled(killed.reason)
    : `machine ${name} stopped answering (no reply to a trivial command within ${PROBE_MS / 1000} s), so it was stopped`;
  await broker().kill(unitId, name, reason).catch(() => {});
  vms.down.set(name, reason);
  return reason;
}

// An SSH failure on a machine whose grading agent still answers is the submission's doing when the
// SSH server of before it is gone (it is root: it stopped it, or put one of its own in its place);
// otherwise it is the grader's (rethrown, an infrastructure error).
export const SSH_STOPPED = 'the submission stopped the SSH server the grader runs it through: nothing more of it could run there; the checks still ran (grading agent)';

const AGENT_KILLED = 'the submission killed its grading agent, so it could not be graded';
/** Why a machine whose agent the submission killed is stopped (a `tampered` crash, not `crashed`). */
export const agentKilled = (detail: string) => `${AGENT_KILLED}: ${detail}`;
/** The crash note of a machine that went down for `reason`: tampered when the submission killed its agent. */
export const crashNote = (machine: string, reason: string): CrashNote =>
  ({ machine, reason, ...(reason.startsWith(AGENT_KILLED) ? { tampered: true } : {}) });

export interface GuardedRun { record: CommandRecord; crash?: CrashNote; notes: string[] }

// The limit counters last read on each machine of a unit: a later stage counts only what is new.
const seen = new WeakMap<GuardedVms, Map<string, { pids: number; oom: number }>>();
function limitsSeen(vms: GuardedVms): Map<string, { pids: number; oom: number }> {
  let m = seen.get(vms);
  if (!m) seen.set(vms, (m = new Map()));
  return m;
}

// Runs one submission command on one machine: in the submission cgroup, with its time limit; after a
// timeout, kills whatever it left in the cgroup. Never throws for what the student's code did (a
// poweroff, a hung machine); rethrows an SSH failure on a machine that is still fine (infrastructure).
export async function runSubmissionCommand(vms: GuardedVms, unitId: string, on: string, run: string, timeout: number): Promise<GuardedRun> {
  const shown = `cd /root/submission && ${run}`;
  const started = Date.now();
  const failed = (why: string): CommandRecord => ({
    phase: 'submission', machine: on, command: shown, exitCode: null, stdout: '', stderr: why,
    durationMs: Date.now() - started, timedOut: false, truncated: false,
  });
  const downAlready = vms.down.get(on) ?? vms.noSsh.get(on);
  const machine = vms.machines.get(on);
  if (downAlready || !machine) return { record: failed(`not run: ${downAlready ?? `no machine ${on}`}`), notes: [] };
  // The grader's own commands about the run go where the submission cannot answer for them.
  const control = vms.trusted.get(on) ?? machine;
  const notes: string[] = [];
  let rec: CommandRecord;
  let thrown: unknown;
  let pidsHit = 0;
  try {
    // With a grading agent, the time limit is its quarantine's (wherever the processes hid), not a second SSH session's.
    rec = { ...(await record(machine, 'submission', submissionCommand(run), { timeout, killInGuest: control === machine })), command: shown };
  } catch (err) {
    thrown = err;
    rec = failed(`the command did not finish: ${(err as Error).message}`);
  }
  let suspect = thrown !== undefined;
  if (!thrown) {
    try {
      // Past its time limit, first kill what is left in its cgroup (a fork bomb, background jobs).
      if (rec.timedOut && (await control.exec(submissionCleanupCommand(), { timeout: PROBE_MS })).timedOut) suspect = true;
      // What the limits saw, from the kernel's counters: a command of the grader's, not the student's output.
      const counts = suspect ? undefined : await control.exec(limitCountsCommand(), { timeout: PROBE_MS });
      const now = counts && parseLimitCounts(counts.stdout);
      if (counts && !now) suspect = true;
      if (now) {
        const before = limitsSeen(vms).get(on) ?? { pids: 0, oom: 0 };
        limitsSeen(vms).set(on, now);
        pidsHit = Math.max(0, now.pids - before.pids);
        if (now.oom > before.oom) notes.push(oomNote(now.oom - before.oom));
      }
    } catch {
      suspect = true;
    }
  }
  const reason = suspect ? await checkAlive(vms, unitId, on, true) : undefined;
  if (reason) return { record: rec, crash: crashNote(on, reason), notes: pidsHit ? [pidsReason(pidsHit), ...notes] : notes };
  if (thrown) {
    const agent = vms.agents.get(on);
    if (!agent || await agent.sshServerRunning().catch(() => true)) throw thrown;
    vms.noSsh.set(on, SSH_STOPPED);
    return { record: rec, crash: { machine: on, reason: SSH_STOPPED, contained: true, tampered: true }, notes };
  }
  if (pidsHit) return { record: rec, crash: { machine: on, reason: pidsReason(pidsHit), contained: true }, notes };
  return { record: rec, notes };
}
