// The lab format as zod: the single reference. Types, JSON Schema (labs/lab.schema.json) and
// docs/lab-format.md are all derived from it; every field says what it does and its default.
// What shapes cannot say (references between fields) is checked in schema-references.ts, and
// zod's issues are put into the lab author's words in schema-messages.ts.
import { z } from 'zod';
import { expandDocker } from './docker-machine.ts';
import { DURATION_PATTERN, MEMORY_PATTERN, parseDuration, parseMemory } from './duration.ts';
// What a validated lab runs, where and in which order is in plan.ts: no zod there, since the test
// worker loads it on every run's critical path.
import { SPEC_REF } from './plan.ts';
import { explain, FIX, readableIssues, type CheckBranches, type SchemaIssue } from './schema-messages.ts';
import { checkReferences } from './schema-references.ts';

const LAB_NAME = /^[a-z0-9][a-z0-9-]*$/;
const MACHINE_NAME = /^[a-z][a-z0-9-]*$/;
const CAPTURE_NAME = /^[a-z0-9][a-z0-9_-]*$/;
const CHECK_ID = /^[a-z0-9][a-z0-9._-]*$/;
const FILE_NAME = /^[^/\\\s][^/\\]*$/;
const INTERFACE_NAME = /^[^\s/:]{1,15}$/;
const KERNEL_RANGE = /^((>=|<=|>|<|=)?\s*[0-9]+(\.[0-9]+){0,2}\s*)+$/;

/** Smallest VM that boots (measured: 64 MiB hangs). */
export const MIN_MEMORY_MIB = 96;

// ---------------------------------------------------------------------------------------------
// Building blocks

const DURATION_WORDS = 'expected a duration such as 30s, 500ms, 2m, 1h, or a number of seconds';
const duration = () =>
  z.union([z.number().min(0, { error: 'expected a duration of 0 or more seconds' }), z.string().regex(DURATION_PATTERN, { error: DURATION_WORDS })], { error: DURATION_WORDS })
    .transform((v) => parseDuration(v));

const MEMORY_WORDS = 'expected a memory size such as 256M, 1G, or a number of MiB';
const memory = () =>
  z.union([
    z.number().min(MIN_MEMORY_MIB, { error: `expected at least ${MIN_MEMORY_MIB} (MiB, smaller VMs hang at boot)` }),
    z.string().regex(MEMORY_PATTERN, { error: MEMORY_WORDS }),
  ], { error: MEMORY_WORDS }).transform((v, ctx) => {
    const mib = parseMemory(v);
    if (mib < MIN_MEMORY_MIB) {
      ctx.issues.push({ code: 'custom', input: v, message: `expected at least ${MIN_MEMORY_MIB} MiB (smaller VMs hang at boot), found ${JSON.stringify(v)}` });
    }
    return mib;
  });

const name = (re: RegExp, example: string, rule = 'lowercase letters, digits and "-", starting with a letter') =>
  z.string().regex(re, { error: `expected a name like "${example}": ${rule}` });

const machineRef = (what: string) => z.string().min(1).describe(what);

const command = (what: string) => z.string().min(1, { error: 'expected a command, found empty text' }).describe(what);

// ---------------------------------------------------------------------------------------------
// Machines, links, steps, submission, captures

/** Debian policy's package names (no version, no option: they reach mmdebstrap as they are). */
const DEBIAN_PACKAGE = /^[a-z0-9][a-z0-9+.-]+$/;

const BootStepSchema = z.strictObject({
  name: z.string().min(1).optional().describe('Label shown in progress and errors. Default: the command.'),
  run: command('Shell command, run as root with bash. Required.'),
  timeout: duration().prefault('120s').describe('Time limit for the command. Default 120s.'),
}).meta({ title: 'Boot step', description: 'A command run once when the machine boots, before its snapshot is saved.' });

const MachineObject = z.strictObject({
  memory: memory().prefault(256).describe(`RAM of the VM: "256M", "1G", or a number of MiB. Default 256 (MiB); at least ${MIN_MEMORY_MIB}.`),
  cpus: z.number().int().min(1).max(64).default(1).describe('Virtual CPUs. Default 1.'),
  kernel: z.string().min(1).optional().describe('Kernel for this machine, overriding the lab\'s `kernel` (ignored when the run sets --kernel). Default: the lab\'s `kernel`.'),
  packages: z.array(z.string().regex(DEBIAN_PACKAGE, { error: (i) => `expected a Debian package name (lowercase letters, digits, "+", "-", "."), found ${JSON.stringify(i.input)}${FIX}e.g. packages: [jq, socat]` }))
    .default([]).describe('Debian packages this machine needs besides the base image\'s, e.g. `[jq, socat]`: installed from Debian\'s archive into an image of its own, built once and cached by its recipe (the other machines keep the base image). Default: none.'),
  docker: z.boolean().default(false)
    .describe('Docker in this machine: Debian\'s docker.io (and apparmor, whose docker-default profile it loads) in the machine\'s image, dockerd started and an offline `busybox:latest` image imported by boot steps that come before this machine\'s own, so every restored copy has a running Docker; the kernel lock also loads `overlay`, and the submission may leave containers and docker-proxy running (`submission.keep`). Default false.'),
  boot: z.array(BootStepSchema).default([])
    .describe('Commands run once, in order, when the machine has booted and before its snapshot is saved: services the lab needs running (e.g. dockerd) and their state (container images) are then in every restored copy, and no unit waits for them. They are part of the snapshot key, run after the kernel lock (modules they need go in `lock.modules`) and before setup; the processes they leave are services, never killed as the submission\'s. Default: none.'),
}).meta({ title: 'Machine', description: 'One Linux VM. An empty value (`host:`) means all defaults.' });

const MachineSchema = MachineObject.nullable().transform((m) => m ?? MachineObject.parse({}));

const Cidr = z.union([z.cidrv4(), z.cidrv6()], { error: 'expected an address with prefix length, such as 192.168.56.11/24' });

const LinkSchema = z.strictObject({
  name: name(MACHINE_NAME, 'underlay').describe('Name of the link (an L2 segment), used in reports and resource names.'),
  machines: z.array(z.string().min(1)).min(2, { error: 'a link joins at least 2 machines' })
    .describe('Machines on this segment (at least 2). Each machine gets lab NICs eth1, eth2, ... in the order the links list it; eth0 is the management NIC.'),
  mtu: z.number().int().min(68).max(65535).default(1500).describe('MTU of the segment\'s NICs. Default 1500.'),
  addresses: z.record(z.string(), Cidr).optional()
    .describe('Optional address (CIDR) per member machine, e.g. `{ node1: 192.168.56.11/24 }`, set on its NIC for this link before setup runs. Default: none (the NIC is left unconfigured, down).'),
}).meta({ title: 'Link', description: 'An L2 segment between machines.' });

const StepSchema = z.strictObject({
  name: z.string().min(1).optional().describe('Label shown in progress and reports. Default: the command.'),
  on: machineRef('Machine the command runs on (a key of `machines`). Required.'),
  run: command('Shell command, run as root with bash. Required.'),
  timeout: duration().prefault('60s').describe('Time limit for the command. Default 60s.'),
}).meta({ title: 'Setup step', description: 'A command run before the submission, e.g. to load modules or prepare files.' });

const StageSchema = z.strictObject({
  name: name(CAPTURE_NAME, 'masquerade', 'lowercase letters, digits, "-" and "_", starting with a letter or digit')
    .describe('Unique name; checks name it in `stage` to run after it. Required.'),
  run: command('Command that runs this stage of the submission, in /root/submission, e.g. `bash nat.sh masquerade`. Required.'),
  timeout: duration().optional().describe('Time limit for the command (on each machine). Default: `submission.timeout`.'),
}).meta({ title: 'Stage', description: 'One step of a submission in stages. The first runs in setup; each later one runs (as its own test, shown with the setup in the report) just before the first check that names it, or after the last check when no check does.' });

const SubmissionSchema = z.strictObject({
  file: z.string().regex(FILE_NAME, { error: 'expected a plain file name such as bridge.sh (no folders)' })
    .describe('Name the student\'s file has in the VM: it is uploaded to /root/submission/<file>. Required.'),
  run: command('Command that runs the submission, in /root/submission, e.g. `bash bridge.sh up`. Exactly one of `run` and `stages` is required.').optional(),
  stages: z.array(StageSchema).min(1).optional()
    .describe('The submission as a story in steps, instead of `run`: e.g. `[{ name: no-nat, run: bash nat.sh 1 }, { name: masquerade, run: bash nat.sh 2 }]`. Each check belongs to one stage (its `stage`, default the first) and checks are ordered by stage. Default: none (use `run`).'),
  on: z.union([machineRef('A machine name.'), z.array(machineRef('A machine name.')).min(1)], { error: 'expected a machine name, or a list of machine names' })
    .describe('Machine the submission runs on, or a list of machines: the file is uploaded to each, and each command (`run`, or every stage) runs on each of them in list order, one after the other (`hostname` tells the script where it runs). Required.'),
  timeout: duration().prefault('120s').describe('Time limit for the submission command (on each machine; for stages, the default of each stage). Default 120s.'),
  reference: z.string().min(1).optional()
    .describe('Reference solution, relative to the lab folder; graded when no --submission is given. Must exist. Default: none (then --submission is required).'),
  keep: z.array(z.string().min(3)).default([])
    .describe('Services the submission may leave running during the checks, e.g. `[python3 -m http.server]`: a process stays when its command line contains one of these and it runs the unchanged program of the image that the entry names first (so a process that only calls itself `python3 -m http.server` is not kept, and is reported); every other process the submission left (in any cgroup, however it hid) is killed before the checks, and the report lists both. Default: none.'),
}).superRefine((s, ctx) => {
  if ((s.run === undefined) === (s.stages === undefined)) {
    ctx.addIssue({ code: 'custom', input: s, message: s.run === undefined
      ? `expected run (one command) or stages (commands run in steps), found neither${FIX}e.g. run: bash bridge.sh up`
      : `expected run or stages, found both${FIX}keep run for one command, or move it into stages as the first stage` });
  }
}).meta({ title: 'Submission', description: 'The student\'s script: uploaded, then run once after setup (`run`), or in steps between the checks (`stages`). Omit it for a lab that only runs checks.' });

const LockSchema = z.strictObject({
  enabled: z.boolean().default(true)
    .describe('Lock the kernel before the submission runs. `false` for a lab where students load modules, use kexec or ptrace on purpose: its report says the kernel was not locked, and a root submission can then change what the kernel tells the checks. Default true.'),
  modules: z.array(z.string().regex(/^[a-z0-9_-]+$/, { error: 'expected a module name such as br_netfilter' })).default([])
    .describe('Modules loaded before the lock, on top of the networking modules always loaded (bridge, veth, vxlan, macvlan, netfilter, ...): e.g. `[br_netfilter]`, which is left out by default because it sends bridged traffic through iptables. Default [].'),
}).meta({ title: 'Kernel lock', description: 'Before the submission runs, every networking module is loaded and then module loading, kexec and ptrace are switched off for good and kernel lockdown raised to integrity, so root cannot change what the kernel tells the checks. Default: locked, no extra modules.' });

const CaptureSchema = z.strictObject({
  name: name(CAPTURE_NAME, 'br', 'lowercase letters, digits, "-" and "_", starting with a letter or digit').describe('Unique name; capture checks refer to it and the report names the pcap after it. Required.'),
  on: machineRef('Machine tcpdump runs on. Required.'),
  interface: z.string().regex(INTERFACE_NAME, { error: 'expected an interface name such as br0 or eth1 (at most 15 characters)' })
    .describe('Interface to capture on (`any` for all). Required. It must exist when the capture starts.'),
  filter: z.string().default('').describe('tcpdump (BPF) filter, e.g. "arp or icmp". Default "" (every packet).'),
  start: z.enum(['before-submission', 'after-submission']).default('after-submission')
    .describe('When tcpdump starts: before-submission (after setup) or after-submission (after `submission.run`, or after its first stage). Default after-submission.'),
}).meta({ title: 'Capture', description: 'A packet capture (tcpdump) kept until the end of the run; its pcap is in the report.' });

// ---------------------------------------------------------------------------------------------
// Checks

const TextExpectSchema = z.strictObject({
  contains: z.union([z.string(), z.array(z.string()).min(1)], { error: 'expected text or a list of texts' })
    .optional().describe('Text that must appear; with a list, every item must appear.'),
  matches: z.string().optional().describe('Regular expression (JavaScript syntax, multiline) that must match somewhere. Checked when the lab loads.'),
  equals: z.string().optional().describe('The whole output, compared after trimming white space at both ends.'),
}).superRefine((t, ctx) => {
  const given = (['contains', 'matches', 'equals'] as const).filter((k) => t[k] !== undefined);
  if (given.length !== 1) {
    ctx.addIssue({ code: 'custom', input: t, message: given.length === 0
      ? `expected one of contains, matches or equals, found none${FIX}e.g. stdout: { contains: "2 received" }`
      : `expected one of contains, matches or equals, found ${given.join(' and ')}${FIX}keep one; to test several things, use contains with a list` });
  }
  if (t.matches !== undefined) {
    try { new RegExp(t.matches, 'm'); } catch (err) {
      ctx.addIssue({ code: 'custom', path: ['matches'], input: t.matches,
        message: `not a valid regular expression: ${(err as Error).message.replace(/^Invalid regular expression: \/.*\/\w*: /s, '')}${FIX}escape special characters with a backslash (\\( \\. \\[), or use contains for plain text` });
    }
  }
}).meta({ title: 'Text expectation', description: 'What the text of stdout or stderr must look like: exactly one of contains, matches, equals.' });

const RunExpectSchema = z.strictObject({
  exitCode: z.union([z.number().int(), z.literal('any')], { error: 'expected an exit code (a whole number) or "any"' })
    .default(0).describe('Exit code the command must return, or "any" when only the output matters. Default 0.'),
  stdout: TextExpectSchema.optional(),
  stderr: TextExpectSchema.optional(),
}).meta({ title: 'Run check expectation', description: 'What the command must do. Default { exitCode: 0 }; exitCode stays 0 when only stdout/stderr are given.' });

const CaptureExpectSchema = z.strictObject({
  packets: z.string().default('').describe('tcpdump filter applied to the capture to select the packets counted. Default "" (all of them).'),
  atLeast: z.number().int().min(0).default(1).describe('Fewest matching packets that pass. Default 1.'),
  atMost: z.number().int().min(0).optional().describe('Most matching packets that pass. Default: no limit.'),
}).superRefine((e, ctx) => {
  if (e.atMost !== undefined && e.atMost < e.atLeast) {
    ctx.addIssue({ code: 'custom', path: ['atMost'], input: e.atMost, message: `expected atMost ≥ atLeast (${e.atLeast}), found ${e.atMost}` });
  }
}).meta({ title: 'Capture check expectation', description: 'How many captured packets must match. Default { packets: "", atLeast: 1 }.' });

const checkCommon = {
  timeout: duration().prefault('30s').describe('Time limit per attempt. Default 30s.'),
  until: duration().optional().describe('Retry (poll) a failing check until this much time has passed since the first attempt, e.g. 10s. Default: one attempt.'),
  interval: duration().prefault('1s').describe('Pause between attempts when `until` is set. Default 1s.'),
  points: z.number().min(0).default(1).describe('Points the check is worth. Default 1; 0 makes it informative only.'),
  hint: z.string().optional().describe('Shown to the student when the check fails. Default: none.'),
  feedback: z.strictObject({
    pass: z.string().optional().describe('Shown when the check passes.'),
    fail: z.string().optional().describe('Shown when the check fails.'),
  }).optional().meta({ title: 'Feedback', description: 'Feedback text for the report (and Gradescope). Default: none.' }),
  visibility: z.enum(['visible', 'hidden', 'after_due_date']).default('visible')
    .describe('Who sees the result (Gradescope semantics): visible, hidden, after_due_date. Default visible.'),
  group: z.string().min(1).optional()
    .describe('Name of a group (under `groups`) this check belongs to: the points of a group\'s checks together count at most the group\'s `max`. Default: none.'),
  stage: z.string().min(1).optional()
    .describe('Name of the submission stage (under `submission.stages`) this check grades: it runs after that stage and before the next. Checks must be in stage order. Default: the first stage.'),
  requires: z.strictObject({
    modules: z.array(z.string().min(1)).optional().describe('Kernel modules the check needs, e.g. [vxlan].'),
    kernel: z.string().regex(KERNEL_RANGE, { error: 'expected a kernel version range such as ">=5.15"' }).optional().describe('Kernel versions the check applies to, e.g. ">=5.15".'),
  }).optional().meta({ title: 'Requirements', description: 'What the check needs from the kernel, judged before it runs: on a kernel outside the range or without a module (built in counts), the check is skipped with the reason, not failed, and leaves the maximum score. Default: nothing.' }),
};

const checkName = z.string().min(1, { error: 'expected a name, found empty text' }).describe('What the check verifies, in words; unique in the lab. Required.');
const checkId = z.string().regex(CHECK_ID, { error: 'expected an id like "ping-net1-net2": lowercase letters, digits, ".", "_" and "-"' })
  .optional().describe('Stable identifier for reports and grade exports. Default: the name in lowercase with runs of other characters replaced by "-".');

const RunCheckInput = z.strictObject({
  name: checkName,
  id: checkId,
  on: machineRef('Machine the command runs on. Required for run checks.'),
  run: command('Shell command, run as root with bash. Makes this a run check.'),
  expect: RunExpectSchema.prefault({}),
  partial: z.union([
    z.literal('fraction'),
    z.strictObject({
      lines: z.string().min(1).describe('Regular expression (JavaScript syntax) a line of stdout must match to count. Checked when the lab loads.'),
      of: z.number().int().min(1).describe('How many matching lines earn all the points; each earns points/of.'),
    }).meta({ title: 'Partial credit by lines', description: 'Each stdout line matching `lines` earns `points / of`, up to `points`.' }),
  ], { error: 'expected "fraction", or { lines: <regex>, of: <count> }' }).optional()
    .describe('Partial credit, instead of `expect`: the check earns a share of its points from its stdout, whatever its exit code. `fraction`: the last line of stdout is the share from 0 to 1 ("3/4", "0.75" or "75%"; above 1, such as a bare "2", earns 0); `{ lines: REGEX, of: N }`: each stdout line matching REGEX earns points/N. It passes only with all its points; a timeout earns 0. Default: none (all or nothing).'),
  ...checkCommon,
}).meta({ title: 'Run check', description: 'A check that runs a command and judges its exit code and output.' });

const CaptureCheckInput = z.strictObject({
  name: checkName,
  id: checkId,
  capture: z.string().min(1).describe('Name of a capture (under `captures`) whose packets are counted. Makes this a capture check.'),
  expect: CaptureExpectSchema.prefault({}),
  ...checkCommon,
}).meta({ title: 'Capture check', description: 'A check that counts packets in a capture.' });

const SpecCheckInput = z.strictObject({
  name: checkName,
  id: checkId,
  spec: z.string().regex(SPEC_REF, { error: 'expected "<file>.spec.ts" or "<file>.spec.ts#<export>": a TypeScript file beside lab.yaml' })
    .describe('A check written in TypeScript: `file.spec.ts#name` runs the function exported as `name` from file.spec.ts beside lab.yaml (`file.spec.ts` alone: its default export). Makes this a spec check; see "Checks in TypeScript".'),
  on: machineRef('Machine the check is about: a down machine or a `requires` is judged on it, and `machine()` with no name returns it. Default: the first machine.').optional(),
  ...checkCommon,
}).meta({ title: 'Spec check', description: 'A check written in TypeScript: it passes unless its function throws (a failed expect), and may return partial points.' });

// "Ping net1 → net2!" → "ping-net1-net2": the default check id.
export function slugify(text: string): string {
  const slug = text.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').toLowerCase()
    .replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 64).replace(/-+$/, '');
  return slug || 'check';
}

export const RunCheckSchema = RunCheckInput.transform(({ name, id, ...rest }) => ({ kind: 'run' as const, name, id: id ?? slugify(name), ...rest }));
export const CaptureCheckSchema = CaptureCheckInput.transform(({ name, id, ...rest }) => ({ kind: 'capture' as const, name, id: id ?? slugify(name), ...rest }));
export const SpecCheckSchema = SpecCheckInput.transform(({ name, id, ...rest }) => ({ kind: 'spec' as const, name, id: id ?? slugify(name), ...rest }));
const CheckSchema = z.union([RunCheckSchema, CaptureCheckSchema, SpecCheckSchema], { error: 'expected a check: a mapping with name, and run (with on), capture, or spec' })
  .describe('A graded check: a run check (`on` + `run`), a capture check (`capture`) or a spec check (`spec`), exactly one of them.');

const CollectSchema = z.union([
  command('Command run on every machine.'),
  z.strictObject({
    on: z.string().min(1).default('*').describe('Machine to run it on, or "*" for every machine. Default "*".'),
    run: command('Command whose output is collected. Required.'),
    name: z.string().min(1).optional().describe('Label in the report. Default: the command.'),
  }).meta({ title: 'Collect command', description: 'A final-state command on one machine (or "*").' }),
], { error: 'expected a command, or a mapping { on, run, name }' })
  .transform((c) => (typeof c === 'string' ? { on: '*', run: c, name: c } : { on: c.on, run: c.run, name: c.name ?? c.run }))
  .describe('A command whose output (the final state) goes in the report: a string runs on every machine; { on, run, name } picks one.');

const ExampleSchema = z.strictObject({
  file: z.string().min(1).describe('The example submission, relative to the lab folder, e.g. examples/no-lo.sh. Must exist. Required.'),
  score: z.number().min(0).describe('The exact score it must get (at most the lab\'s maximum). Required.'),
  failed: z.array(z.string().regex(CHECK_ID, { error: 'expected a check id like "ping-net1-net2"' })).optional()
    .describe('The ids of exactly the checks that must not pass (fail or error; a skipped check is neither), e.g. [lo-is-up-in-both-namespaces]; `[]` when all must pass. Default: not compared, only the score.'),
}).meta({ title: 'Example submission', description: 'An example submission (a typical mistake) and the grade it must get from `netlab-run verify`.' });

// ---------------------------------------------------------------------------------------------
// The lab

const LabObject = z.strictObject({
  name: name(LAB_NAME, 'bridge', 'lowercase letters, digits and "-", starting with a letter or digit').describe('Short name, used in resource names and reports: lowercase letters, digits, "-". Required.'),
  title: z.string().min(1).describe('One-line title shown in reports. Required.'),
  description: z.string().optional().describe('Longer description (Markdown) for the report. Default: none.'),
  kernel: z.string().min(1).default('debian:bookworm').describe('Default kernel for every machine, e.g. debian:bookworm, debian:trixie. Default debian:bookworm.'),
  machines: z.record(name(MACHINE_NAME, 'host').describe('machine name'), MachineSchema)
    .refine((m) => Object.keys(m).length > 0, { error: `expected at least one machine, found none${FIX}e.g. machines: { host: { memory: 256M } }` })
    .describe('The VMs, by name (lowercase letters, digits, "-", starting with a letter). Required, at least one.'),
  lock: LockSchema.prefault({}),
  links: z.array(LinkSchema).prefault([]).describe('L2 segments between machines. Default [] (each VM has only its management NIC, eth0).'),
  setup: z.array(StepSchema).prefault([]).describe('Commands run, in order, before the submission. Default [].'),
  submission: SubmissionSchema.optional(),
  captures: z.array(CaptureSchema).prefault([]).describe('Packet captures. Default [].'),
  checks: z.array(CheckSchema).min(1, { error: 'expected at least one check' }).describe('The graded checks, run in order after the submission. Required, at least one.'),
  collect: z.array(CollectSchema).prefault([]).describe('Final-state commands whose output goes in the report. Default [].'),
  groups: z.record(name(CAPTURE_NAME, 'connectivity', 'lowercase letters, digits, "-" and "_", starting with a letter or digit').describe('group name'),
    z.strictObject({
      max: z.number().min(0).describe('The most points the group\'s checks together count for. Required.'),
    }).meta({ title: 'Group', description: 'A cap on the points of the checks that name this group in `group`.' }))
    .prefault({}).describe('Groups of checks with a points cap, by name: e.g. `{ connectivity: { max: 5 } }`; checks join one with `group`. Default {} (no caps).'),
  examples: z.array(ExampleSchema).prefault([])
    .describe('Example submissions with the score each must get, graded by `netlab-run verify` together with the reference (which must get full marks): how a lab\'s author knows the checks tell the typical mistakes apart. Default [] (verify grades the reference alone).'),
});

/** The lab file, structurally and with its cross-references (machine, capture, names) checked. */
export const LabSchema = LabObject.superRefine((lab, ctx) => checkReferences(lab, (path, message) => ctx.addIssue({ code: 'custom', path, message })),
  { when: (p) => p.issues.length === 0 })
  .describe('A netlab-run lab: Linux VMs, setup, a student\'s submission, captures and graded checks.');

// ---------------------------------------------------------------------------------------------
// Types (the output: defaults applied, durations in ms, memory in MiB)

export type LabInput = z.input<typeof LabSchema>;
// LabObject's, which LabSchema's refinement leaves as it is: that refinement (schema-references.ts)
// takes a Lab, so naming LabSchema here would make the type refer to itself.
export type Lab = z.output<typeof LabObject>;
export type MachineSpec = Lab['machines'][string];
export type LinkSpec = Lab['links'][number];
export type StepSpec = Lab['setup'][number];
export type SubmissionSpec = NonNullable<Lab['submission']>;
/** One command of a submission; a `run` submission is one stage named "submission". */
export interface StageSpec { name: string; run: string; timeout: number }
export type CaptureSpec = Lab['captures'][number];
export type RunCheck = z.output<typeof RunCheckSchema>;
export type CaptureCheck = z.output<typeof CaptureCheckSchema>;
export type SpecCheck = z.output<typeof SpecCheckSchema>;
export type Check = RunCheck | CaptureCheck | SpecCheck;
export type TextExpect = z.output<typeof TextExpectSchema>;
export type CollectSpec = Lab['collect'][number];

// ---------------------------------------------------------------------------------------------
// Validation with readable issues (the words are schema-messages.ts's)

export { closest, formatPath, show, type SchemaIssue } from './schema-messages.ts';

export type CheckLabResult = { ok: true; lab: Lab } | { ok: false; issues: SchemaIssue[] };

const CHECK_BRANCHES: CheckBranches = { run: RunCheckSchema, capture: CaptureCheckSchema, spec: SpecCheckSchema };

// Validates parsed YAML (any JS value) against the lab format, references included.
export function checkLab(raw: unknown): CheckLabResult {
  const r = LabSchema.safeParse(raw, { error: explain, reportInput: true });
  if (r.success) return { ok: true, lab: expandDocker(r.data) };
  return { ok: false, issues: readableIssues(r.error.issues, raw, CHECK_BRANCHES) };
}

// ---------------------------------------------------------------------------------------------
// JSON Schema for editors (the input side: "60s" strings, optional fields with defaults)

// The JSON Schema of lab.yaml, as written to labs/lab.schema.json.
export function labJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(LabSchema, { io: 'input', target: 'draft-7' }) as Record<string, unknown>;
  const { $schema, ...rest } = schema;
  return {
    $schema,
    $comment: 'Generated from runner/lab/schema.ts by `npm run schema`; do not edit by hand.',
    title: 'netlab-run lab (lab.yaml)',
    ...rest,
  };
}

// The file's text: stable formatting so a stale copy shows as a diff.
export function labJsonSchemaText(): string {
  return `${JSON.stringify(labJsonSchema(), null, 2)}\n`;
}
