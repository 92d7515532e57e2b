// Runs in Playwright's workers: a unit's "setup" test (lab addresses, captures, the lab's setup
// steps, the submission's first stage) and the test of each later stage.
import type { TestInfo } from '@playwright/test';
import type { CommandRecord } from '../../reports/model.ts';
import { submissionMachines, submissionStages } from '../lab/plan.ts';
import type { Lab, StageSpec } from '../lab/schema.ts';
import { labNics } from '../lab/topology.ts';
import { brokerClient } from '../protocol/broker-client.ts';
import type { UnitSpec } from '../protocol/units.ts';
import { AGENT_PORT_CLOSED } from '../../vm/types.ts';
import { attachJson, type CrashNote } from '../protocol/wire.ts';
import { asText, record, startCaptureCommand } from './guest-commands.ts';
import { agentKilled, crashNote, runSubmissionCommand } from './guard.ts';
import type { LabVms } from './unit-vms.ts';

type Step = <T>(title: string, body: () => Promise<T>) => Promise<T>;

/** What a stage's commands left: their records, the machines they took down, notes on limits. */
interface StageLog { records: CommandRecord[]; crashes: CrashNote[]; notes: string[] }

/** The submission of a unit as its tests run it: stages, each on every machine of `on`, in order. */
export class SubmissionPlan {
  readonly stages: StageSpec[];
  readonly machines: string[];
  constructor(readonly unit: UnitSpec, readonly lab: Lab) {
    this.stages = lab.submission && unit.submission ? submissionStages(lab.submission) : [];
    this.machines = lab.submission ? submissionMachines(lab.submission) : [];
  }

  // A student's poweroff or hung machine becomes a crash note (graded), not an exception (infrastructure).
  async runStage(vms: LabVms, stage: StageSpec, log: StageLog, step: Step): Promise<void> {
    for (const on of this.machines) {
      await step(`[${on}] submission${this.lab.submission?.stages ? ` stage ${stage.name}` : ''}: ${stage.run}`, async () => {
        const r = await runSubmissionCommand(vms, this.unit.id, on, stage.run, stage.timeout);
        log.records.push(r.record);
        if (r.crash) log.crashes.push(r.crash);
        log.notes.push(...r.notes.map((n) => `[${on}] ${n}`));
      });
    }
    await this.quarantine(vms, log);
  }

  // Nothing the submission started outlives it into the checks (a loop that restores a fake state
  // between two checks, a process that left its cgroup), except the services the lab declares.
  private async quarantine(vms: LabVms, log: StageLog): Promise<void> {
    await this.stopAgentless(vms, log);
    const keep = this.lab.submission?.keep ?? [];
    await Promise.all([...vms.agents].filter(([name]) => !vms.down.has(name)).map(async ([name, agent]) => {
      const q = await agent.quarantine(keep).catch((err: Error) => { log.notes.push(`[${name}] the grading agent did not answer: ${err.message}`); return undefined; });
      if (!q) return;
      const list = (ps: { pid: number; command: string }[]) => ps.slice(0, 8).map((p) => `${p.pid} ${p.command}`).join('; ') + (ps.length > 8 ? `; and ${ps.length - 8} more` : '');
      if (q.killed.length) log.notes.push(`[${name}] stopped ${q.killed.length} process${q.killed.length === 1 ? '' : 'es'} the submission left running (not a service the lab keeps): ${list(q.killed)}`);
      if (q.kept.length) log.notes.push(`[${name}] kept running for the checks, as the lab allows: ${list(q.kept)}`);
    }));
  }

  // A machine whose agent the submission killed cannot be graded: it is stopped at once, as a crash
  // of the submission's (its checks score 0 without waiting on an agent that will never answer).
  private async stopAgentless(vms: LabVms, log: StageLog): Promise<void> {
    const health = await brokerClient().health(this.unit.id, 0).catch(() => undefined);
    for (const t of health?.tampered ?? []) {
      if (t.reason !== AGENT_PORT_CLOSED || vms.down.has(t.machine)) continue;
      const why = agentKilled(t.reason);
      await brokerClient().kill(this.unit.id, t.machine, why).catch(() => {});
      vms.down.set(t.machine, why);
      log.crashes.push(crashNote(t.machine, why));
    }
  }
}

/** The setup test's time budget besides the boot: its steps and the submission's first stage. */
export function setupBudgetMs(plan: SubmissionPlan): number {
  return (plan.stages[0]?.timeout ?? 0) * plan.machines.length + plan.lab.setup.reduce((t, s) => t + s.timeout, 0) + 60_000;
}

export async function setupTest(plan: SubmissionPlan, vms: LabVms, testInfo: TestInfo, step: Step): Promise<void> {
  const { lab, unit } = plan;
  const log: StageLog = { records: [], crashes: [], notes: [] };
  const m = (name: string) => vms.machines.get(name)!;
  for (const [machine, nics] of labNics(lab)) {
    const cmds = nics.filter((n) => n.address).map((n) => `ip link set ${n.name} up && ip addr add ${n.address} dev ${n.name}`);
    if (cmds.length) log.records.push(await record(m(machine), 'setup', cmds.join(' && '), { timeout: 30_000 }));
  }
  const captureErrors: Record<string, string> = {};
  await startCaptures(lab, vms, 'before-submission', log.records, captureErrors);
  for (const s of lab.setup) {
    await step(`[${s.on}] ${s.name ?? s.run}`, async () => {
      log.records.push(await record(m(s.on), 'setup', s.run, { timeout: s.timeout }));
    });
  }
  if (lab.submission && unit.submission) {
    // What runs now was started by the lab (a service set up before the submission): it is spared.
    await Promise.all([...vms.agents.values()].map((a) => a.census()));
    for (const on of plan.machines) {
      await m(on).exec('mkdir -p /root/submission', { timeout: 10_000 });
      await m(on).upload(unit.submission.path, `/root/submission/${lab.submission.file}`);
    }
    await plan.runStage(vms, plan.stages[0]!, log, step);
  }
  await startCaptures(lab, vms, 'after-submission', log.records, captureErrors);
  await attachJson(testInfo, 'netlab-setup', { ...log, lease: vms.lease, captureErrors });
  await testInfo.attach('setup output', { contentType: 'text/plain', body: log.records.map(asText).join('\n') });
}

async function startCaptures(lab: Lab, vms: LabVms, when: 'before-submission' | 'after-submission', records: CommandRecord[], errors: Record<string, string>): Promise<void> {
  for (const c of lab.captures.filter((c) => c.start === when)) {
    if (vms.down.has(c.on)) { errors[c.name] = `machine ${c.on} is down: ${vms.down.get(c.on)}`; continue; }
    if (vms.lease.hostCaptures?.[c.name]) {
      await brokerClient().captureStart(vms.lease.id, c.name).catch((err: Error) => { errors[c.name] = `the host could not start it: ${err.message}`; });
      continue;
    }
    const r = await record(vms.trusted.get(c.on)!, 'capture', startCaptureCommand(c.name, c.interface, c.filter), { timeout: 15_000 });
    if (r.exitCode !== 0) errors[c.name] = (r.stderr || r.stdout).trim().split('\n').slice(-1)[0] || 'tcpdump did not start';
    records.push(r);
  }
}

/** A later stage of the submission, run as its own test just before the first check that belongs to it. */
export async function stageTest(plan: SubmissionPlan, stage: StageSpec, vms: LabVms, testInfo: TestInfo, step: Step): Promise<void> {
  const log: StageLog = { records: [], crashes: [], notes: [] };
  try {
    await plan.runStage(vms, stage, log, step);
  } finally {
    await attachJson(testInfo, 'netlab-stage', log);
    if (log.records.length) await testInfo.attach('stage output', { contentType: 'text/plain', body: log.records.map(asText).join('\n') });
  }
}
