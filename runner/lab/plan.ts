// What a validated lab runs, where and in which order. Kept apart from the zod schema (schema.ts)
// because the Playwright worker needs these on every run and zod costs ~80 ms to load there.
import type { Check, Lab, StageSpec, SubmissionSpec } from './schema.ts';

/** `checks.spec.ts` or `checks.spec.ts#exportName`: a TypeScript check beside lab.yaml. */
export const SPEC_REF = /^([^/\\\s#][^/\\#]*\.spec\.ts)(?:#([A-Za-z_$][\w$]*))?$/;

// The submission's commands in order: its stages, or its one `run` as a single stage.
export function submissionStages(sub: SubmissionSpec): StageSpec[] {
  if (sub.stages) return sub.stages.map((s) => ({ name: s.name, run: s.run, timeout: s.timeout ?? sub.timeout }));
  return [{ name: 'submission', run: sub.run ?? '', timeout: sub.timeout }];
}

// What runs after setup (which runs the first stage), in order: the checks, each later stage just
// before the first check that belongs to it, and stages no check names after the last check.
export function runOrder(lab: Lab): ({ stage: StageSpec } | { check: Check })[] {
  const stages = lab.submission ? submissionStages(lab.submission) : [];
  const out: ({ stage: StageSpec } | { check: Check })[] = [];
  let done = 0;
  const upTo = (last: number) => { while (done < last) out.push({ stage: stages[++done]! }); };
  for (const check of lab.checks) {
    upTo(check.stage === undefined ? 0 : stages.findIndex((s) => s.name === check.stage));
    out.push({ check });
  }
  upTo(stages.length - 1);
  return out;
}

// The machines the submission runs on, in order.
export function submissionMachines(sub: SubmissionSpec): string[] {
  return typeof sub.on === 'string' ? [sub.on] : sub.on;
}

// The machine a check is about: where it runs, what it captures on, or (spec) its `on` or the first machine.
export function checkMachine(lab: Lab, check: Check): string {
  if (check.kind === 'run') return check.on;
  if (check.kind === 'capture') return lab.captures.find((c) => c.name === check.capture)!.on;
  return check.on ?? Object.keys(lab.machines)[0]!;
}
