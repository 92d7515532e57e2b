import type { CommandRecord } from '../../reports/model.ts';
import { shellQuote } from '../../vm/ssh.ts';
import type { ExecOptions, Machine } from '../../vm/types.ts';

// Guest-side helpers for the lab spec: each runs one command and returns what the report records.

export const OUTPUT_LIMIT = 256 * 1024;
const CAP_DIR = '/run/netlab/cap';

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

export function countCaptureCommand(name: string, filter: string): string {
  return `test -s ${CAP_DIR}/${name}.pcap || { echo 0; exit 0; }; tcpdump -r ${CAP_DIR}/${name}.pcap -nn ${filter ? shellQuote(filter) : ''} 2>/tmp/netlab-count.err | wc -l; ! grep -qi 'syntax error\\|can.t parse' /tmp/netlab-count.err || { cat /tmp/netlab-count.err >&2; exit 2; }`;
}

export const capturePath = (name: string) => `${CAP_DIR}/${name}.pcap`;
