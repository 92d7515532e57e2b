// Runs in Playwright's workers: the guest-side command text of setup, submission and captures.
import type { CommandRecord } from '../../reports/model.ts';
import { NAP_FIFO, shellQuote } from '../../vm/ssh/command-text.ts';
import type { ExecOptions, Machine } from '../../vm/types.ts';
import { DEFAULT_OUTPUT_LIMIT, readWire } from '../protocol/wire.ts';

// Guest-side helpers for the lab spec: each runs one command and returns what the report records.

export const OUTPUT_LIMIT = readWire().maxOutput ?? DEFAULT_OUTPUT_LIMIT;
const CAP_DIR = '/run/netlab/cap';
/** `nap SECS`: a sleep without a program start in a netlab guest (see NAP_FIFO), `sleep` elsewhere. */
const NAP_FUNCTION = `nap() { read -t "$1" _ <> ${NAP_FIFO} 2>/dev/null; [ -p ${NAP_FIFO} ] || sleep "$1"; };`;

/** Where the student's commands run in the guest: a cgroup with a process and a memory limit. */
export const SUBMISSION_CGROUP = '/sys/fs/cgroup/netlab-submission';
/** Processes the submission may have at once: a fork bomb stops there, the machine keeps answering. */
export const SUBMISSION_PIDS_MAX = 512;


// The student's command, run in /root/submission inside the submission cgroup (at most
// SUBMISSION_PIDS_MAX processes and 3/4 of the guest's memory), so a fork bomb or a memory hog
// cannot take the machine (and the grader's SSH) down with it. Afterwards the wrapper steps out of the
// cgroup, watches what the command left running for up to 3 s, and if the process limit was hit,
// kills everything left in the cgroup (a fork bomb in the background). What the limits saw is read
// afterwards by a command of its own (limitCountsCommand), never from the submission's output, which
// the student writes. Without cgroup2 it runs unlimited. Bash builtins only
// (every program start costs ~50 ms of emulated CPU); $BASHPID is the shell running this, which
// joins the cgroup with what it starts and leaves it afterwards.
export function submissionCommand(run: string): string {
  const cg = SUBMISSION_CGROUP;
  // ev FILE KEY: the value of KEY in a cgroup events file (0 if none) into $R.
  const ev = 'ev() { R=0; local k v; while read -r k v; do [ "$k" = "$2" ] && R=$v; done 2>/dev/null < "$1"; };';
  return `${ev} ${NAP_FUNCTION}`
    + ` if { [ -d ${cg} ] || mkdir ${cg} 2>/dev/null; } && [ -w ${cg}/cgroup.procs ]; then`
    + ` for c in pids memory; do echo +$c > /sys/fs/cgroup/cgroup.subtree_control; done 2>/dev/null;`
    + ` echo ${SUBMISSION_PIDS_MAX} > ${cg}/pids.max 2>/dev/null;`
    + ' while read -r k v _; do [ "$k" = MemTotal: ] && mem=$v; done < /proc/meminfo;'
    + ` echo $(( mem * 3 / 4 ))K > ${cg}/memory.max 2>/dev/null;`
    + ` ev ${cg}/pids.events max; p0=$R; echo $BASHPID > ${cg}/cgroup.procs; fi;`
    + ` (cd /root/submission && ${run}); rc=$?;`
    + ` if [ -n "$p0" ]; then echo $BASHPID > /sys/fs/cgroup/cgroup.procs;`
    // Processes left running (daemons, or a fork bomb in the background): watch them for up to 3 s.
    + ` for i in 1 2 3 4 5 6; do cur=0; read -r cur < ${cg}/pids.current 2>/dev/null; [ "\${cur:-0}" -gt 0 ] || break;`
    + ` ev ${cg}/pids.events max; [ $(( R - p0 )) -gt 0 ] && break; nap 0.5; done;`
    + ` ev ${cg}/pids.events max; p=$(( R - p0 ));`
    + ` if [ "$p" -gt 0 ]; then if [ -e ${cg}/cgroup.kill ]; then echo 1 > ${cg}/cgroup.kill; else kill -9 $(cat ${cg}/cgroup.procs) 2>/dev/null; fi; fi;`
    + ` fi; exit $rc`;
}

// The submission cgroup's counters, kept by the kernel: forks refused at the process limit and
// processes killed at the memory limit, since the cgroup was made (0 0 without one).
export function limitCountsCommand(): string {
  const cg = SUBMISSION_CGROUP;
  return 'p=0; o=0; while read -r k v; do [ "$k" = max ] && p=$v; done 2>/dev/null < ' + `${cg}/pids.events;`
    + ' while read -r k v; do [ "$k" = oom_kill ] && o=$v; done 2>/dev/null < ' + `${cg}/memory.events; echo "pids=$p oom=$o"`;
}

/** Parses limitCountsCommand's output; undefined when it is not what that command prints. */
export function parseLimitCounts(stdout: string): { pids: number; oom: number } | undefined {
  const m = /^pids=(\d+) oom=(\d+)$/.exec(stdout.trim());
  return m ? { pids: Number(m[1]), oom: Number(m[2]) } : undefined;
}

// After a submission ran past its time limit: kill everything left in its cgroup (background jobs,
// a fork bomb).
export function submissionCleanupCommand(): string {
  const cg = SUBMISSION_CGROUP;
  return `[ -d ${cg} ] || exit 0; if [ -e ${cg}/cgroup.kill ]; then echo 1 > ${cg}/cgroup.kill;`
    + ` else for p in $(cat ${cg}/cgroup.procs); do kill -9 $p 2>/dev/null; done; fi; true`;
}

export async function record(machine: Machine, phase: CommandRecord['phase'], command: string, opts: ExecOptions & { attempt?: number } = {}): Promise<CommandRecord> {
  const r = await machine.exec(command, { maxOutput: OUTPUT_LIMIT, ...opts });
  return { phase, machine: machine.name, command, attempt: opts.attempt, ...r };
}

export function startCaptureCommand(name: string, iface: string, filter: string): string {
  const base = `${CAP_DIR}/${name}`;
  // -U writes each packet at once, so checks can count packets while the capture still runs; and
  // --immediate-mode hands tcpdump each packet at once: by default libpcap delivers them in blocks, up
  // to 1 s late, and a count right after the traffic saw none (a correct unit's ARP check polled 1.1 s).
  // Whatever is there under the capture's name goes first: a tcpdump that cannot open its interface
  // never touches -w's file, and a pcap put there beforehand (root in the guest reaches the grader's
  // folder through /proc/PID/root) would be counted as this capture.
  return `${NAP_FUNCTION} { [ -d ${CAP_DIR} ] || mkdir -p ${CAP_DIR}; } && rm -rf ${base}.pcap ${base}.log ${base}.pid && { (trap '' HUP; exec tcpdump -U --immediate-mode -n -i ${shellQuote(iface)} -w ${base}.pcap ${filter ? shellQuote(filter) : ''}) </dev/null >${base}.log 2>&1 & p=$!; echo $p >${base}.pid; }`
    + ` && for ((i = 0; i < 100; i++)); do read -r -d '' l < ${base}.log; [[ $l == *'listening on'* ]] && exit 0; kill -0 $p 2>/dev/null || break; nap 0.05; done; printf '%s' "$l" >&2; exit 1`;
}

export function stopCaptureCommand(name: string): string {
  const base = `${CAP_DIR}/${name}`;
  return `${NAP_FUNCTION} read -r p < ${base}.pid 2>/dev/null && kill -INT $p 2>/dev/null; for ((i = 0; i < 100; i++)); do kill -0 $p 2>/dev/null || break; nap 0.05; done;`
    + ` mapfile -t l < ${base}.log 2>/dev/null; printf '%s\\n' "\${l[@]: -3}"`;
}

// Counts packets, not lines: tcpdump prints some packets (VXLAN, with their inner frame) on several
// lines, and only a packet's first line starts with its -tt timestamp.
export function countCaptureCommand(name: string, filter: string): string {
  return `test -s ${CAP_DIR}/${name}.pcap || { echo 0; exit 0; }; tcpdump -r ${CAP_DIR}/${name}.pcap -nn -tt ${filter ? shellQuote(filter) : ''} 2>/tmp/netlab-count.err | grep -cE '^[0-9]+\\.[0-9]+ ';`
    + ` read -r -d '' e < /tmp/netlab-count.err; [[ \${e,,} == *'syntax error'* || \${e,,} == *"can't parse"* ]] || exit 0; printf '%s' "$e" >&2; exit 2`;
}

export const capturePath = (name: string) => `${CAP_DIR}/${name}.pcap`;

/** A command record as the plain-text attachment Playwright's own report shows. */
export function asText(r: CommandRecord): string {
  return `[${r.machine}]$ ${r.command}\n${r.stdout}${r.stderr ? `\n[stderr]\n${r.stderr}` : ''}\n[exit ${r.timedOut ? 'timeout' : r.exitCode}, ${r.durationMs} ms]\n`;
}
