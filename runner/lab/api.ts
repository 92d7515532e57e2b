// What a lab's own TypeScript checks import (`import { labCheck, expect } from 'netlab-run/lab'`).
// A spec check in lab.yaml (`spec: checks.spec.ts#name`) names one exported function; netlab-run
// runs it inside the check's Playwright test, against the same machines the YAML checks use.
import { expect } from '@playwright/test';
import type { ExecOptions, ExecResult } from '../../vm/types.ts';

export { expect };

/** A lab machine as a check sees it: every exec is recorded in the report and shown as a step. */
export interface CheckMachine {
  readonly name: string;
  exec(command: string, opts?: Pick<ExecOptions, 'timeout' | 'input'>): Promise<ExecResult>;
  upload(localPath: string, remotePath: string): Promise<void>;
  download(remotePath: string, localPath: string): Promise<void>;
}

export interface CheckContext {
  /** A machine by name; with no name, the check's `on` machine (default: the lab's first machine). */
  machine(name?: string): CheckMachine;
  /** The lab's machines that are up. */
  machines: string[];
  kernel: { name: string; version: string };
  /** Playwright's expect: a failed expectation fails the check with its message as "got". */
  expect: typeof expect;
  /** A titled step in Playwright's report. */
  step<T>(title: string, body: () => Promise<T>): Promise<T>;
  /** 1-based; above 1 when the check polls (`until`). */
  attempt: number;
}

/**
 * What a check returns: nothing (all its points) or the points earned (partial credit, from 0 to the
 * check's points; it passes only with all of them). Throwing fails it with 0 points.
 */
export type CheckOutcome = void | number | { points: number; got?: string };

export type CheckFunction = (ctx: CheckContext) => Promise<CheckOutcome> | CheckOutcome;

/** Types a check function (and documents intent); it returns the function unchanged. */
export function labCheck(fn: CheckFunction): CheckFunction {
  return fn;
}
