// Loaded by all three processes of a run: netlab-run, Playwright's runner (the reporters) and its
// workers. What crosses between them is declared here and nowhere else: the run settings netlab-run
// hands down, and the annotations and attachments a worker writes for the reporters to grade from.
import { z } from 'zod';
import type { CaptureResult, CheckResult, CommandRecord } from '../../reports/model.ts';
import { positiveIntFromEnv } from '../../vm/env-limit.ts';
import type { TamperNote, UnitLease } from './units.ts';

/** A machine the submission took down (or, `contained`, a limit that stopped it from doing so), and how. */
export interface CrashNote {
  machine: string; reason: string; contained?: boolean;
  /** The submission broke the grader's channel to the machine (killed its agent, stopped its SSH server). */
  tampered?: boolean;
}

/** The JSON attachments of a unit's tests, by name. */
export interface Attachments {
  'netlab-setup': { records: CommandRecord[]; lease: UnitLease; captureErrors: Record<string, string>; crashes: CrashNote[]; notes: string[] };
  'netlab-stage': { records: CommandRecord[]; crashes: CrashNote[]; notes: string[] };
  'netlab-check': CheckResult;
  /** What the submission left behind took a machine down during the checks. */
  'netlab-crash': CrashNote;
  'netlab-final': { captures: CaptureResult[]; collected: CommandRecord[]; health?: CheckResult; tampered?: TamperNote[] };
}
export type AttachmentName = keyof Attachments;

/** A capture's pcap file is attached as `pcap:<capture name>`. */
export const PCAP_ATTACHMENT = 'pcap:';

/** What every test of a unit is: the reporters grade by it. */
export type TestKind = 'setup' | 'stage' | 'check' | 'final';

/** The annotation types of a unit's tests. */
export const NOTE = {
  unit: 'netlab-unit',
  kind: 'netlab-kind',
  stage: 'netlab-stage',
  checkId: 'netlab-check-id',
  points: 'points',
  visibility: 'visibility',
  hint: 'hint',
} as const;

interface Attachable { attach(name: string, opts: { contentType: string; body: string }): Promise<void> }

export function attachJson<N extends AttachmentName>(testInfo: Attachable, name: N, payload: Attachments[N]): Promise<void> {
  return testInfo.attach(name, { contentType: 'application/json', body: JSON.stringify(payload) });
}

export function readAttachment<N extends AttachmentName>(attachments: readonly { name: string; body?: Buffer }[], name: N): Attachments[N] | undefined {
  const a = attachments.find((x) => x.name === name && x.body);
  return a ? JSON.parse(a.body!.toString('utf8')) as Attachments[N] : undefined;
}

export function noteOf(annotations: readonly { type: string; description?: string }[], type: string): string | undefined {
  return annotations.find((a) => a.type === type)?.description;
}

// netlab-run's settings for the Playwright processes it starts: one typed object in one environment
// variable (the only channel Playwright passes on to its runner and workers), read back checked.
const runWire = z.strictObject({
  /** The broker's URL, secret included (runner/orchestrate/broker.ts): workers lease their VMs there. */
  broker: z.string().optional(),
  /** Where the netlab reporter writes the run's outcome for netlab-run. */
  resultsFile: z.string().optional(),
  /** JUnit XML from the grades, when asked for. */
  junitFile: z.string().optional(),
  /** Bytes kept per output stream of each command. */
  maxOutput: z.number().int().positive().optional(),
  /** `netlab-run merge --out DIR`: every unit's folders re-rooted under DIR. */
  outDir: z.string().optional(),
});
export type RunWire = z.infer<typeof runWire>;

export const WIRE_ENV = 'NETLAB_WIRE';

/** Bytes kept per output stream of each command unless --max-output (or NETLAB_MAX_OUTPUT) says otherwise. */
export const DEFAULT_OUTPUT_LIMIT = 256 * 1024;

// The output cap when --max-output is not given: NETLAB_MAX_OUTPUT (bytes) or the default.
export function outputLimit(env = process.env.NETLAB_MAX_OUTPUT): number {
  return positiveIntFromEnv(env, DEFAULT_OUTPUT_LIMIT);
}

export function wireEnv(wire: RunWire): Record<string, string> {
  return { [WIRE_ENV]: JSON.stringify(runWire.parse(wire)) };
}

let cached: RunWire | undefined;
/** This process's settings from netlab-run; empty outside a run (a unit test, a bare `playwright test`). */
export function readWire(env: NodeJS.ProcessEnv = process.env): RunWire {
  if (env !== process.env) return parseWire(env[WIRE_ENV]);
  return (cached ??= parseWire(env[WIRE_ENV]));
}

function parseWire(text: string | undefined): RunWire {
  if (!text) return {};
  const parsed = runWire.safeParse(JSON.parse(text));
  if (!parsed.success) throw new Error(`${WIRE_ENV} is not what netlab-run writes: ${parsed.error.message}`);
  return parsed.data;
}
