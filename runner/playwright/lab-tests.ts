import { test as base } from '@playwright/test';
import type { CheckResult, CommandRecord } from '../../reports/model.ts';
import { brokerCall } from '../orchestrate/broker.ts';
import { checkMachine, runOrder, submissionMachines, submissionStages } from '../lab/plan.ts';
import type { Check, Lab, StageSpec } from '../lab/schema.ts';
import { labNics } from '../lab/topology.ts';
import type { UnitLease, UnitSpec } from '../protocol/units.ts';
import { SshMachine, shellQuote } from '../../vm/ssh/client.ts';
import type { Machine } from '../../vm/types.ts';
import { runCaptureCheck, runCommandCheck } from './check-runner.ts';
import { runSpecCheck } from './spec-check-runner.ts';
import { specFunction, type SpecModules } from '../lab/spec-checks.ts';
import { record, startCaptureCommand } from './guest-commands.ts';
import { finalState } from './final-state.ts';
import { checkAlive, runSubmissionCommand, type CrashNote } from './guard.ts';
import { unmetRequirement } from '../lab/requires.ts';
import { kernelModules, normalModule } from '../../vm/build/kernel-modules.ts';

/** A unit's machines as one worker sees them; `down` holds machines that went down, with the reason. */
export interface LabVms { lease: UnitLease; machines: Map<string, Machine>; down: Map<string, string> }

const BOOT_BUDGET_MS = 4 * 60_000;

// The machines of the unit this worker grades now. A worker runs one unit's tests after another's
// (one project for all units, config.ts), so the connections live from the unit's first test to the
// worker's next unit, not for the worker's life.
let held: { unit: string; vms: Promise<LabVms> } | undefined;

async function connectUnit(unitId: string): Promise<LabVms> {
  const lease = await brokerCall(process.env.NETLAB_BROKER!, unitId, 'acquire') as UnitLease;
  const machines = new Map<string, Machine>();
  const down = new Map((lease.down ?? []).map((d) => [d.machine, d.reason]));
  try {
    for (const ep of lease.endpoints) if (!down.has(ep.name)) machines.set(ep.name, await SshMachine.connect(ep, { timeoutMs: 30_000 }));
  } catch (err) {
    await closeAll(machines);
    throw err;
  }
  return { lease, machines, down };
}

const closeAll = (machines: Map<string, Machine>) => Promise.all([...machines.values()].map((m) => m.close().catch(() => {})));

async function dropHeld(): Promise<void> {
  const h = held;
  held = undefined;
  const vms = await h?.vms.catch(() => undefined);
  if (vms) await closeAll(vms.machines);
}

// Declared once per module, not per unit: Playwright reuses a worker only for tests whose worker
// fixtures are the same functions.
const workerTest = base.extend<object, { heldVms: void }>({
  heldVms: [async ({}, use) => { await use(); await dropHeld(); }, { scope: 'worker', auto: true }],
});

function unitVms(unitId: string): Promise<LabVms> {
  if (held?.unit === unitId) return held.vms;
  const previous = dropHeld();
  const vms = previous.then(() => connectUnit(unitId));
  held = { unit: unitId, vms };
  // A failed lease is not kept: the next test asks the broker again (which remembers a failed boot).
  vms.catch(() => { if (held?.vms === vms) held = undefined; });
  return vms;
}

// Turns one lab on one kernel into Playwright tests: "setup", one test per check in order, then
// "final state". Tests of a file run in order in one worker; the VMs belong to netlab-run (the
// broker), so a failed check restarts only the worker, which leases the same VMs again.
// `specs`: the modules of the lab's *.spec.ts files (imported by the generated spec file), by file name.
export function defineLabTests(unit: UnitSpec, lab: Lab, specs: SpecModules = {}): void {
  const test = workerTest.extend<{ vms: LabVms }>({
    vms: [async ({}, use) => { await use(await unitVms(unit.id)); }, { timeout: BOOT_BUDGET_MS }],
  });
  test.describe.configure({ mode: 'default' });
  // Every test names its unit and what it is: the reporters grade from these.
  const tags = (kind: string, ...more: { type: string; description: string }[]) =>
    [{ type: 'netlab-unit', description: unit.id }, { type: 'netlab-kind', description: kind }, ...more];

  // The submission's commands: one `run`, or stages; each runs on every machine of `on`, in order.
  const stages = lab.submission && unit.submission ? submissionStages(lab.submission) : [];
  const subMachines = lab.submission ? submissionMachines(lab.submission) : [];
  // A student's poweroff or hung machine becomes a crash note (graded), not an exception (infrastructure).
  const runStage = async (vms: LabVms, stage: StageSpec, records: CommandRecord[], crashes: CrashNote[], notes: string[]) => {
    for (const on of subMachines) {
      await test.step(`[${on}] submission${lab.submission?.stages ? ` stage ${stage.name}` : ''}: ${stage.run}`, async () => {
        const r = await runSubmissionCommand(vms, unit.id, on, stage.run, stage.timeout);
        records.push(r.record);
        if (r.crash) crashes.push(r.crash);
        notes.push(...r.notes.map((n) => `[${on}] ${n}`));
      });
    }
  };

  test('setup', { annotation: tags('setup') }, async ({ vms }, testInfo) => {
    const submissionMs = (stages[0]?.timeout ?? 0) * subMachines.length;
    test.setTimeout(BOOT_BUDGET_MS + submissionMs + lab.setup.reduce((t, s) => t + s.timeout, 0) + 60_000);
    const records: CommandRecord[] = [];
    const m = (name: string) => vms.machines.get(name)!;
    for (const [machine, nics] of labNics(lab)) {
      const cmds = nics.filter((n) => n.address).map((n) => `ip link set ${n.name} up && ip addr add ${n.address} dev ${n.name}`);
      if (cmds.length) records.push(await record(m(machine), 'setup', cmds.join(' && '), { timeout: 30_000 }));
    }
    const captureErrors: Record<string, string> = {};
    const crashes: CrashNote[] = [];
    const notes: string[] = [];
    const startCaptures = async (when: 'before-submission' | 'after-submission') => {
      for (const c of lab.captures.filter((c) => c.start === when)) {
        if (vms.down.has(c.on)) { captureErrors[c.name] = `machine ${c.on} is down: ${vms.down.get(c.on)}`; continue; }
        const r = await record(m(c.on), 'capture', startCaptureCommand(c.name, c.interface, c.filter), { timeout: 15_000 });
        if (r.exitCode !== 0) captureErrors[c.name] = (r.stderr || r.stdout).trim().split('\n').slice(-1)[0] || 'tcpdump did not start';
        records.push(r);
      }
    };
    await startCaptures('before-submission');
    for (const step of lab.setup) {
      await test.step(`[${step.on}] ${step.name ?? step.run}`, async () => {
        records.push(await record(m(step.on), 'setup', step.run, { timeout: step.timeout }));
      });
    }
    if (lab.submission && unit.submission) {
      for (const on of subMachines) {
        await m(on).exec('mkdir -p /root/submission', { timeout: 10_000 });
        await m(on).upload(unit.submission.path, `/root/submission/${lab.submission.file}`);
      }
      await runStage(vms, stages[0]!, records, crashes, notes);
    }
    await startCaptures('after-submission');
    await testInfo.attach('netlab-setup', { contentType: 'application/json', body: JSON.stringify({ records, lease: vms.lease, captureErrors, crashes, notes }) });
    await testInfo.attach('setup output', { contentType: 'text/plain', body: records.map(asText).join('\n') });
  });

  // A later stage runs as its own test just before the first check that belongs to it.
  const defineStage = (stage: StageSpec) => {
    test(`stage: ${stage.name}`, { annotation: tags('stage', { type: 'netlab-stage', description: stage.name }) }, async ({ vms }, testInfo) => {
      test.setTimeout(stage.timeout * subMachines.length + 60_000);
      const records: CommandRecord[] = [];
      const crashes: CrashNote[] = [];
      const notes: string[] = [];
      try {
        await runStage(vms, stage, records, crashes, notes);
      } finally {
        await testInfo.attach('netlab-stage', { contentType: 'application/json', body: JSON.stringify({ records, crashes, notes }) });
        if (records.length) await testInfo.attach('stage output', { contentType: 'text/plain', body: records.map(asText).join('\n') });
      }
    });
  };

  const defineCheck = (check: Check) => {
    const annotation = tags('check',
      { type: 'netlab-check-id', description: check.id },
      { type: 'points', description: String(check.points) },
      { type: 'visibility', description: check.visibility },
      ...(check.hint ? [{ type: 'hint', description: check.hint }] : []));
    test(check.name, { annotation }, async ({ vms }, testInfo) => {
      test.setTimeout((check.until ?? 0) + check.timeout + 60_000);
      const capture = check.kind === 'capture' ? lab.captures.find((c) => c.name === check.capture)! : undefined;
      const on = checkMachine(lab, check);
      const down = vms.down.get(on);
      if (down) {
        // The machine is gone (the submission crashed it): 0 points at once, no SSH timeouts.
        const result = downCheck(check, on, down);
        await testInfo.attach('netlab-check', { contentType: 'application/json', body: JSON.stringify(result) });
        test.skip(true, `not run: machine ${on} is down`);
        return;
      }
      const unmet = await requirementProblem(check, vms.lease.kernel);
      if (unmet) {
        // Not the student's fault and not a failure: this kernel cannot do what the check needs.
        await testInfo.attach('netlab-check', { contentType: 'application/json', body: JSON.stringify(skippedCheck(check, unmet)) });
        test.skip(true, unmet);
        return;
      }
      const result: CheckResult = check.kind === 'run'
        ? await runCommandCheck(check, vms.machines.get(check.on)!, test.step)
        : check.kind === 'capture'
          ? await runCaptureCheck(check, capture!, (n) => vms.machines.get(n)!, test.step)
          : await runSpecCheck(check, specFunction(specs, check.spec), { machines: vms.machines, down: vms.down, defaultMachine: on, kernel: vms.lease.kernel, step: test.step });
      // A check that could not run may mean the machine went down under it (a delayed poweroff).
      if (result.status === 'error') {
        const why = await checkAlive(vms, unit.id, on, true);
        if (why) {
          result.reason = `machine ${on} went down: ${why}`;
          // What the submission left behind took the machine down after it returned: the unit is
          // labelled crashed, as if the submission itself had done it.
          const crash: CrashNote = { machine: on, reason: `${why} (after the submission returned, during the checks)` };
          await testInfo.attach('netlab-crash', { contentType: 'application/json', body: JSON.stringify(crash) });
        }
      }
      await testInfo.attach('netlab-check', { contentType: 'application/json', body: JSON.stringify(result) });
      if (result.commands.length) await testInfo.attach('output', { contentType: 'text/plain', body: result.commands.map(asText).join('\n') });
      if (result.status === 'failed') {
        // The student's failure, graded: an expected failure for Playwright, so the worker (and its
        // SSH connections) carries on instead of restarting for every failed check.
        test.fail();
        throw checkFailure(result, check.hint);
      }
      if (result.status !== 'passed') throw checkFailure(result, check.hint);
    });
  };

  for (const item of runOrder(lab)) {
    if ('stage' in item) { if (unit.submission) defineStage(item.stage); } else defineCheck(item.check);
  }

  test('final state', { annotation: tags('final') }, async ({ vms }, testInfo) => {
    test.setTimeout(180_000);
    try {
      await finalState(lab, vms, testInfo);
    } finally {
      // Release now, not at the end of the run: a class grades many units, memory stays bounded.
      await brokerCall(process.env.NETLAB_BROKER!, unit.id, 'release').catch(() => {});
    }
  });
}

async function requirementProblem(check: Check, kernel: UnitLease['kernel']): Promise<string | undefined> {
  if (!check.requires) return undefined;
  const mods = check.requires.modules ?? [];
  let missing: string[] = [];
  if (mods.length) {
    if (!kernel.modulesDisk) throw new Error(`kernel ${kernel.name}: no modules disk to judge requires: modules by`);
    const has = await kernelModules(kernel.modulesDisk, kernel.version);
    missing = mods.filter((m) => !has.has(normalModule(m)));
  }
  return unmetRequirement(check.requires, kernel.version, missing);
}

function skippedCheck(check: Check, reason: string): CheckResult {
  return {
    id: check.id, name: check.name, status: 'skipped', points: 0, maxPoints: check.points, visibility: check.visibility,
    expected: '', got: `skipped: ${reason}`, durationMs: 0, commands: [], reason,
    ...(check.kind === 'capture' ? { capture: check.capture } : {}), ...(check.group ? { group: check.group } : {}),
  };
}

// The result of a check whose machine is down: an error worth 0, saying why.
function downCheck(check: Check, on: string, why: string): CheckResult {
  return {
    id: check.id, name: check.name, status: 'error', points: 0, maxPoints: check.points, visibility: check.visibility,
    hint: check.hint, expected: '', got: `not run: machine ${on} is down`, durationMs: 0, commands: [],
    ...(check.kind === 'capture' ? { capture: check.capture } : {}), reason: why, ...(check.group ? { group: check.group } : {}),
  };
}

// A student's failed check is not a bug in this file: no stack, so reports show no code frame.
// The last line makes Playwright's JUnit reporter file it as a <failure> (the student's), not an
// <error> (infrastructure): it tells them apart by an `expect(...).matcher` in the message.
function checkFailure(result: CheckResult, hint?: string): Error {
  const err = new Error(`${result.expected ? `expected ${result.expected}, got ${result.got}` : result.got}${hint ? `\nhint: ${hint}` : ''}${result.status === 'failed' ? '\nexpect(check).toPass() failed' : ''}`);
  err.stack = `${err.message}`;
  return err;
}

function asText(r: CommandRecord): string {
  return `[${r.machine}]$ ${r.command}\n${r.stdout}${r.stderr ? `\n[stderr]\n${r.stderr}` : ''}\n[exit ${r.timedOut ? 'timeout' : r.exitCode}, ${r.durationMs} ms]\n`;
}

export { shellQuote };
