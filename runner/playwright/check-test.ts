// Runs in Playwright's workers: one check of a lab as one test body, and the results of a check that
// could not run (its machine down, its kernel lacking what it requires).
import type { TestInfo } from '@playwright/test';
import type { CheckResult } from '../../reports/model.ts';
import { checkMachine } from '../lab/plan.ts';
import type { Check, Lab } from '../lab/schema.ts';
import { unmetRequirement } from '../lab/requires.ts';
import { specFunction, type SpecModules } from '../lab/spec-checks.ts';
import type { UnitLease } from '../protocol/units.ts';
import { attachJson, type CrashNote } from '../protocol/wire.ts';
import { kernelModules, normalModule } from '../../vm/build/kernel-modules.ts';
import { runCaptureCheck, runCommandCheck } from './check-runner.ts';
import { runSpecCheck } from './spec-check-runner.ts';
import { checkAlive, crashNote } from './guard.ts';
import { asText } from './guest-commands.ts';
import type { LabVms } from './unit-vms.ts';

type Step = <T>(title: string, body: () => Promise<T>) => Promise<T>;

/** What a check test needs besides its check: the unit, the lab, Playwright's step and skip. */
export interface CheckContext { unitId: string; lab: Lab; specs: SpecModules; step: Step; skip: (reason: string) => void; fail: () => void }

export async function checkTest(check: Check, ctx: CheckContext, vms: LabVms, testInfo: TestInfo): Promise<void> {
  const on = checkMachine(ctx.lab, check);
  const down = vms.down.get(on);
  if (down) {
    // The machine is gone (the submission crashed it): 0 points at once, no SSH timeouts.
    await attachJson(testInfo, 'netlab-check', downCheck(check, on, down));
    ctx.skip(`not run: machine ${on} is down`);
    return;
  }
  const unmet = await requirementProblem(check, vms.lease.kernel);
  if (unmet) {
    // Not the student's fault and not a failure: this kernel cannot do what the check needs.
    await attachJson(testInfo, 'netlab-check', skippedCheck(check, unmet));
    ctx.skip(unmet);
    return;
  }
  const result = await runCheck(check, ctx, vms, on);
  // A check that could not run may mean the machine went down under it (a delayed poweroff).
  if (result.status === 'error') {
    const why = await checkAlive(vms, ctx.unitId, on, true);
    if (why) {
      result.reason = `machine ${on} went down: ${why}`;
      // What the submission left behind took the machine down after it returned: the unit is
      // labelled crashed, as if the submission itself had done it.
      const crash: CrashNote = crashNote(on, `${why} (after the submission returned, during the checks)`);
      await attachJson(testInfo, 'netlab-crash', crash);
    }
  }
  await attachJson(testInfo, 'netlab-check', result);
  if (result.commands.length) await testInfo.attach('output', { contentType: 'text/plain', body: result.commands.map(asText).join('\n') });
  if (result.status === 'failed') {
    // The student's failure, graded: an expected failure for Playwright, so the worker (and its
    // SSH connections) carries on instead of restarting for every failed check.
    ctx.fail();
    throw checkFailure(result, check.hint);
  }
  if (result.status !== 'passed') throw checkFailure(result, check.hint);
}

function runCheck(check: Check, ctx: CheckContext, vms: LabVms, on: string): Promise<CheckResult> {
  const machine = (n: string) => vms.trusted.get(n)!;
  if (check.kind === 'run') return runCommandCheck(check, machine(check.on), ctx.step);
  if (check.kind === 'capture') return runCaptureCheck(check, ctx.lab.captures.find((c) => c.name === check.capture)!, machine, ctx.step, vms.lease.hostCaptures?.[check.capture]?.file);
  return runSpecCheck(check, specFunction(ctx.specs, check.spec), { machines: vms.trusted, down: vms.down, defaultMachine: on, kernel: vms.lease.kernel, step: ctx.step });
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
