// Runs in Playwright's workers (imported by each generated spec file): one lab on one kernel as
// Playwright tests.
import type { Lab, StageSpec } from '../lab/schema.ts';
import { runOrder } from '../lab/plan.ts';
import type { SpecModules } from '../lab/spec-checks.ts';
import { brokerClient } from '../protocol/broker-client.ts';
import type { UnitSpec } from '../protocol/units.ts';
import { NOTE, type TestKind } from '../protocol/wire.ts';
import { checkTest } from './check-test.ts';
import { finalState } from './final-state.ts';
import { setupBudgetMs, setupTest, stageTest, SubmissionPlan } from './setup-test.ts';
import { bootBudgetMs } from './boot-budget.ts';
import { unitVms, workerTest, type LabVms } from './unit-vms.ts';

export type { LabVms };

// "setup", one test per check in order (a later stage of the submission just before its first
// check), then "final state". Tests of a file run in order in one worker; the VMs belong to
// netlab-run (the broker), so a failed check restarts only the worker, which leases the same VMs again.
// `specs`: the modules of the lab's *.spec.ts files (imported by the generated spec file), by file name.
export function defineLabTests(unit: UnitSpec, lab: Lab, specs: SpecModules = {}): void {
  const test = workerTest.extend<{ vms: LabVms }>({
    vms: [async ({}, use) => { await use(await unitVms(unit.id)); }, { timeout: bootBudgetMs() }],
  });
  test.describe.configure({ mode: 'default' });
  // Every test names its unit and what it is: the reporters grade from these.
  const tags = (kind: TestKind, ...more: { type: string; description: string }[]) =>
    [{ type: NOTE.unit, description: unit.id }, { type: NOTE.kind, description: kind }, ...more];
  const plan = new SubmissionPlan(unit, lab);

  test('setup', { annotation: tags('setup') }, async ({ vms }, testInfo) => {
    test.setTimeout(bootBudgetMs() + setupBudgetMs(plan));
    await setupTest(plan, vms, testInfo, test.step);
  });

  const defineStage = (stage: StageSpec) => {
    test(`stage: ${stage.name}`, { annotation: tags('stage', { type: NOTE.stage, description: stage.name }) }, async ({ vms }, testInfo) => {
      test.setTimeout(stage.timeout * plan.machines.length + 60_000);
      await stageTest(plan, stage, vms, testInfo, test.step);
    });
  };

  const ctx = { unitId: unit.id, lab, specs, step: test.step, skip: (why: string) => test.skip(true, why), fail: () => test.fail() };
  for (const item of runOrder(lab)) {
    if ('stage' in item) { if (unit.submission) defineStage(item.stage); continue; }
    const check = item.check;
    const annotation = tags('check',
      { type: NOTE.checkId, description: check.id },
      { type: NOTE.points, description: String(check.points) },
      { type: NOTE.visibility, description: check.visibility },
      ...(check.hint ? [{ type: NOTE.hint, description: check.hint }] : []));
    test(check.name, { annotation }, async ({ vms }, testInfo) => {
      test.setTimeout((check.until ?? 0) + check.timeout + 60_000);
      await checkTest(check, ctx, vms, testInfo);
    });
  }

  test('final state', { annotation: tags('final') }, async ({ vms }, testInfo) => {
    test.setTimeout(180_000);
    try {
      await finalState(lab, vms, unit.id, testInfo);
    } finally {
      // Release now, not at the end of the run: a class grades many units, memory stays bounded.
      await brokerClient().release(unit.id).catch(() => {});
    }
  });
}
