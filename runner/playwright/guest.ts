import type { CommandRecord } from '../../reports/model.ts';
import { shellQuote } from '../../vm/ssh.ts';
import type { ExecOptions, Machine } from '../../vm/types.ts';

// Guest-side helpers for the lab spec: each runs one command and returns what the report records.

/** Bytes kept per output stream of each command unless --max-output (NETLAB_MAX_OUTPUT) says otherwise. */
export const DEFAULT_OUTPUT_LIMIT = 256 * 1024;

// The output cap of this run: NETLAB_MAX_OUTPUT (bytes, set by --max-output) or the default.
export function outputLimit(env = process.env.NETLAB_MAX_OUTPUT): number {
  const n = Number(env);
  return env && Number.isInteger(n) && n > 0 ? n : DEFAULT_OUTPUT_LIMIT;
}

export const OUTPUT_LIMIT = outputLimit();
const CAP_DIR = '/run/netlab/cap';

/** Where the student's commands run in the guest: a cgroup with a process and a memory limit. */
export const SUBMISSION_CGROUP = '/sys/fs/cgroup/netlab-submission';
/** Processes the submission may have at once: a fork bomb stops there, the machine keeps answering. */
export const SUBMISSION_PIDS_MAX = 512;

/** Marker line the submission wrapper prints on stderr when the submission hit a limit. */
export const LIMIT_MARKER = 'NETLAB-LIMIT';

// The student's command, run in /root/submission inside the submission cgroup (at most
// SUBMISSION_PIDS_MAX processes and 3/4 of the guest's memory), so a fork bomb or a memory hog
// cannot take the machine (and the grader's SSH) down with it. Afterwards the wrapper steps out of the
// cgroup, watches what the command left running for up to 3 s, and if the process limit was hit,
// kills everything left in the cgroup (a fork bomb in the background) and prints
// `NETLAB-LIMIT pids=N oom=N` on stderr. Without cgroup2 it runs unlimited.
export function submissionCommand(run: string): string {
  const cg = SUBMISSION_CGROUP;
  const count = (file: string, key: string) => `$(awk '$1 == "${key}" {print $2}' ${cg}/${file} 2>/dev/null || echo 0)`;
  return `if mkdir -p ${cg} 2>/dev/null && [ -w ${cg}/cgroup.procs ]; then`
    + ` for c in pids memory; do echo +$c > /sys/fs/cgroup/cgroup.subtree_control; done 2>/dev/null;`
    + ` echo ${SUBMISSION_PIDS_MAX} > ${cg}/pids.max 2>/dev/null;`
    + ` echo $(( $(awk '/^MemTotal:/ {print $2}' /proc/meminfo) * 3 / 4 ))K > ${cg}/memory.max 2>/dev/null;`
    + ` p0=${count('pids.events', 'max')}; o0=${count('memory.events', 'oom_kill')}; echo $$ > ${cg}/cgroup.procs; fi;`
    + ` (cd /root/submission && ${run}); rc=$?;`
    + ` if [ -n "$p0" ]; then echo $$ > /sys/fs/cgroup/cgroup.procs;`
    // Processes left running (daemons, or a fork bomb in the background): watch them for up to 3 s.
    + ` for i in 1 2 3 4 5 6; do [ "$(cat ${cg}/pids.current 2>/dev/null || echo 0)" -gt 0 ] || break;`
    + ` [ $(( ${count('pids.events', 'max')} - \${p0:-0} )) -gt 0 ] && break; sleep 0.5; done;`
    + ` p=$(( ${count('pids.events', 'max')} - \${p0:-0} )); o=$(( ${count('memory.events', 'oom_kill')} - \${o0:-0} ));`
    + ` if [ "$p" -gt 0 ]; then if [ -e ${cg}/cgroup.kill ]; then echo 1 > ${cg}/cgroup.kill; else kill -9 $(cat ${cg}/cgroup.procs) 2>/dev/null; fi; fi;`
    + ` if [ "$p" -gt 0 ] || [ "$o" -gt 0 ]; then echo "${LIMIT_MARKER} pids=$p oom=$o" >&2; fi; fi; exit $rc`;
}

// After a submission ran past its time limit: kill everything left in its cgroup (background jobs,
// a fork bomb) and print what the limits saw ("pids-max N", "oom-kill N").
export function submissionCleanupCommand(): string {
  const cg = SUBMISSION_CGROUP;
  return `[ -d ${cg} ] || exit 0; if [ -e ${cg}/cgroup.kill ]; then echo 1 > ${cg}/cgroup.kill;`
    + ` else for p in $(cat ${cg}/cgroup.procs); do kill -9 $p 2>/dev/null; done; fi;`
    + ` awk '$1 == "max" {print "pids-max", $2}' ${cg}/pids.events 2>/dev/null; awk '$1 == "oom_kill" {print "oom-kill", $2}' ${cg}/memory.events 2>/dev/null; true`;
}

export async function record(machine: Machine, phase: CommandRecord['phase'], command: string, opts: ExecOptions & { attempt?: number } = {}): Promise<CommandRecord> {
  const r = await machine.exec(command, { maxOutput: OUTPUT_LIMIT, ...opts });
  return { phase, machine: machine.name, command, attempt: opts.attempt, ...r };
}

export function startCaptureCommand(name: string, iface: string, filter: string): string {
  const base = `${CAP_DIR}/${name}`;
  // -U writes each packet at once, so checks can count packets while the capture still runs.
  return `mkdir -p ${CAP_DIR} && (nohup tcpdump -U -n -i ${shellQuote(iface)} -w ${base}.pcap ${filter ? shellQuote(filter) : ''} </dev/null >${base}.log 2>&1 & echo $! >${base}.pid)`
    + ` && for i in $(seq 50); do grep -q 'listening on' ${base}.log && exit 0; kill -0 $(cat ${base}.pid) 2>/dev/null || break; sleep 0.1; done; cat ${base}.log >&2; exit 1`;
}

export function stopCaptureCommand(name: string): string {
  const base = `${CAP_DIR}/${name}`;
  return `p=$(cat ${base}.pid 2>/dev/null) && kill -INT $p 2>/dev/null; for i in $(seq 50); do kill -0 $p 2>/dev/null || break; sleep 0.1; done; cat ${base}.log 2>/dev/null | tail -3`;
}

// Counts packets, not lines: tcpdump prints some packets (VXLAN, with their inner frame) on several
// lines, and only a packet's first line starts with its -tt timestamp.
export function countCaptureCommand(name: string, filter: string): string {
  return `test -s ${CAP_DIR}/${name}.pcap || { echo 0; exit 0; }; tcpdump -r ${CAP_DIR}/${name}.pcap -nn -tt ${filter ? shellQuote(filter) : ''} 2>/tmp/netlab-count.err | grep -cE '^[0-9]+\\.[0-9]+ '; ! grep -qi 'syntax error\\|can.t parse' /tmp/netlab-count.err || { cat /tmp/netlab-count.err >&2; exit 2; }`;
}

export const capturePath = (name: string) => `${CAP_DIR}/${name}.pcap`;
