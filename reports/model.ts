// What a graded run is, as every report (HTML, summary.json, Gradescope, JUnit, matrix) reads it.
// reports/ owns this shape and never imports the runner; the runner fills it in.

export interface CommandRecord {
  /** Which phase ran it: lab setup, the student's submission, a check, collect (final state). */
  phase: 'setup' | 'submission' | 'check' | 'collect' | 'capture';
  machine: string;
  command: string;
  exitCode: number | null;
  stdout: string;
  stderr: string;
  durationMs: number;
  timedOut: boolean;
  truncated: boolean;
  /** Attempt number when a check polls (1-based). */
  attempt?: number;
}

export type CheckStatus = 'passed' | 'failed' | 'skipped' | 'error';

export interface CheckResult {
  id: string;
  name: string;
  status: CheckStatus;
  points: number;
  maxPoints: number;
  visibility: 'visible' | 'hidden' | 'after_due_date';
  /** Shown on failure. */
  hint?: string;
  /** What the check wanted, in words ("exit code 0", "≥ 2 packets matching 'arp'"). */
  expected: string;
  /** What it saw, in words. */
  got: string;
  /** Free text feedback configured for pass or fail. */
  feedback?: string;
  durationMs: number;
  commands: CommandRecord[];
  /** Capture check: the capture name it read. */
  capture?: string;
  /** Why it was skipped or errored. */
  reason?: string;
  /** Group (lab `groups`) whose cap applies to this check's points. */
  group?: string;
}

/** A group of checks whose points together count at most `cap`. */
export interface GroupResult {
  name: string;
  cap: number;
  /** Points earned by the group's checks, after the cap. */
  points: number;
  /** Points the group's checks are worth, after the cap. */
  maxPoints: number;
}

/**
 * How the student's submission itself ran: ok (exit 0), failed (non-zero exit), timeout (stopped at
 * its time limit, with every process it started), crashed (a machine powered off or stopped answering),
 * tampered (it broke the grader's channel to a machine: killed the grading agent, stopped the SSH server).
 */
export interface SubmissionRun {
  status: 'ok' | 'failed' | 'timeout' | 'crashed' | 'tampered';
  /** In words, for the report: which machine, what happened. */
  detail?: string;
  /** Machines that went down (checks on them could not run). */
  down?: string[];
}

export interface PacketRow {
  no: number;
  time: string;
  /** tcpdump's one-line summary (-e shows MACs). */
  summary: string;
}

export interface CaptureResult {
  name: string;
  machine: string;
  interface: string;
  filter: string;
  /** Path of the .pcap relative to the report folder. */
  file: string;
  packetCount: number;
  /** First packets decoded by tcpdump for the report's table. */
  packets: PacketRow[];
  error?: string;
  /** 'host': taken outside the guest, on the host side of the machine's link (what crossed the wire). */
  side?: 'host';
}

export interface TopologyMachine {
  name: string;
  interfaces: { name: string; link?: string; mac?: string; address?: string }[];
}

export interface TopologyLink {
  name: string;
  machines: string[];
  mtu?: number;
}

/** Evidence that the submission tampered with grading on a machine (vm/build/guest-files/netlab-agent). */
export interface TamperNote { machine: string; reason: string }

export interface RunResult {
  lab: { name: string; title: string; dir: string };
  /** locked: false when the lab turned the kernel lock off (absent: locked before the submission ran). */
  kernel: { name: string; version: string; locked?: false };
  image: { recipeHash: string };
  accel: 'kvm' | 'tcg';
  submission: { file: string; label: string } | null;
  startedAt: string;
  durationMs: number;
  score: number;
  maxScore: number;
  /** passed: every check passed; failed: some check failed; error: infrastructure failure. */
  status: 'passed' | 'failed' | 'error';
  error?: string;
  /** How the submission ran (absent without a submission, or when the run never got to it). */
  submissionRun?: SubmissionRun;
  /** What the submission did to grading (points are unaffected: checks ran where it could not reach). */
  tampered?: TamperNote[];
  /** Capped groups of checks; `score` and `maxScore` already apply their caps. */
  groups?: GroupResult[];
  /** sha256 of lab.yaml and the graded file: `--resume` re-grades only when it changed. */
  inputHash?: string;
  /** Setup and submission commands, in order. */
  setup: CommandRecord[];
  checks: CheckResult[];
  captures: CaptureResult[];
  /** Final state: collect commands per machine. */
  collected: CommandRecord[];
  topology: { machines: TopologyMachine[]; links: TopologyLink[] };
}
