// Reads .pcap files for reports through the host's tcpdump: no packet parsing of our own.
// The tcpdump binary is `tcpdump` on PATH unless NETLAB_TCPDUMP names another one.
import type { PacketRow } from './model.ts';

export interface DecodeOptions {
  /** A pcap-filter(7) expression; only matching packets are counted and listed. */
  filter?: string;
  /** How many packets to list (all are still counted). Default: all. */
  limit?: number;
  /** Give up on tcpdump after this long. Default 60 s. */
  timeoutMs?: number;
}

export interface DecodedPcap {
  packetCount: number;
  packets: PacketRow[];
  /** Set when the file ends in the middle of a packet (the capture was cut short): the rows read are kept. */
  warning?: string;
}

const tcpdumpBin = () => process.env.NETLAB_TCPDUMP || 'tcpdump';

// A packet line starts with the relative time that -ttttt prints (" 00:00:01.001873 ...");
// anything else is a continuation of the packet above it.
const PACKET_LINE = /^\s*(\d+):(\d{2}):(\d{2})\.(\d+)\s(.*)$/;

// "00:01:02.003000" (since the first packet) -> "62.003000" seconds.
function relativeSeconds(h: string, m: string, s: string, frac: string): string {
  return `${Number(h) * 3600 + Number(m) * 60 + Number(s)}.${frac}`;
}

// tcpdump's own message, without the "reading from file ..." banner it always prints.
function tcpdumpMessage(stderr: string): string {
  return stderr.split('\n')
    .filter((l) => l.trim() && !l.startsWith('reading from file'))
    .map((l) => l.replace(/^tcpdump: /, ''))
    .join('\n');
}

function throwIfNoTcpdump(r: { failed: boolean }): void {
  if (r.failed && (r as { code?: string }).code === 'ENOENT') {
    throw new Error(`tcpdump not found (${tcpdumpBin()}): install the Debian package tcpdump (scripts/setup.sh does)`);
  }
}

// Lists and counts the packets of a pcap file with `tcpdump -r FILE -nn -e -ttttt [FILTER]`.
export async function decodePcap(file: string, opts: DecodeOptions = {}): Promise<DecodedPcap> {
  const limit = opts.limit ?? Infinity;
  const args = ['-r', file, '-nn', '-ttttt', ...(limit > 0 ? ['-e'] : ['-q'])];
  if (opts.filter?.trim()) args.push('--', opts.filter);
  // Loaded here, not at the top: the test worker imports this module and execa costs ~100 ms to load.
  const { execa } = await import('execa');
  const sub = execa(tcpdumpBin(), args, {
    reject: false,
    buffer: { stdout: false, stderr: true },
    timeout: opts.timeoutMs ?? 60_000,
    env: { LC_ALL: 'C' },
    stdin: 'ignore',
  });
  const packets: PacketRow[] = [];
  let packetCount = 0;
  let last: PacketRow | undefined;
  for await (const line of sub.iterable({ from: 'stdout' })) {
    const m = PACKET_LINE.exec(line);
    if (m) {
      packetCount++;
      last = undefined;
      if (packets.length < limit) {
        last = { no: packetCount, time: relativeSeconds(m[1]!, m[2]!, m[3]!, m[4]!), summary: m[5]! };
        packets.push(last);
      }
    } else if (last && line.trim()) {
      last.summary += ` ${line.trim()}`;
    }
  }
  const r = await sub;
  throwIfNoTcpdump(r);
  if (r.timedOut) throw new Error(`tcpdump took longer than ${(opts.timeoutMs ?? 60_000) / 1000} s on ${file}`);
  if (r.exitCode !== 0) {
    const message = tcpdumpMessage(String(r.stderr ?? '')) || `tcpdump exited with code ${r.exitCode}`;
    // A capture stopped mid-write ends with a partial record: keep what was read.
    if (/pcap_loop: truncated dump file/.test(message)) {
      return { packetCount, packets, warning: `${file}: ${message}` };
    }
    if (/filter expression/.test(message)) throw new Error(`${message} (filter: ${opts.filter})`);
    throw new Error(message.includes(file) ? message : `${file}: ${message}`);
  }
  return { packetCount, packets };
}

/** Writes the packets of `input` that match `filter` to `output` (`tcpdump -r IN -w OUT FILTER`). */
export async function filterPcap(input: string, output: string, filter: string, timeoutMs = 60_000): Promise<void> {
  const { execa } = await import('execa');
  const r = await execa(tcpdumpBin(), ['-r', input, '-w', output, ...(filter.trim() ? ['--', filter] : [])],
    { reject: false, timeout: timeoutMs, env: { LC_ALL: 'C' }, stdin: 'ignore' });
  throwIfNoTcpdump(r);
  const message = tcpdumpMessage(String(r.stderr ?? ''));
  // A capture stopped mid-write ends with a partial record: what was read is written.
  if (r.exitCode !== 0 && !/truncated dump file/.test(message)) throw new Error(message || `tcpdump exited with code ${r.exitCode}`);
}
