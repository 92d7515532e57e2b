// Loaded by Playwright's workers: the typed client of the broker that netlab-run runs
// (runner/orchestrate/broker.ts). A worker leases its unit's VMs, asks which machines are down,
// stops one that stopped answering, starts and stops captures taken on the host side of a link, and
// releases the unit when its last test ends.
import type { DownMachine, HostCaptureStop, TamperNote, UnitLease } from './units.ts';
import { readWire } from './wire.ts';

export type BrokerOp = 'acquire' | 'release' | 'health' | 'kill' | 'capture-start' | 'capture-stop';

/** What the broker answers to each operation. */
export interface BrokerReplies {
  acquire: UnitLease;
  release: { ok: true };
  health: { down: DownMachine[]; tampered?: TamperNote[] };
  kill: { ok: true };
  'capture-start': { ok: true };
  'capture-stop': HostCaptureStop;
}

export class BrokerError extends Error {
  override name = 'BrokerError';
  constructor(message: string, readonly fix?: string) { super(message); }
}

export interface BrokerClient {
  acquire(unit: string): Promise<UnitLease>;
  release(unit: string): Promise<void>;
  /** The unit's machines that are down, waiting up to waitMs for one to go down. */
  health(unit: string, waitMs: number): Promise<{ down: DownMachine[]; tampered?: TamperNote[] }>;
  kill(unit: string, machine: string, reason: string): Promise<void>;
  /** Starts a capture the lease lists in hostCaptures (on the host side of its link). */
  captureStart(unit: string, capture: string): Promise<void>;
  /** Stops it; its pcap (unfiltered) is then complete. */
  captureStop(unit: string, capture: string): Promise<HostCaptureStop>;
}

export function brokerClient(url = readWire().broker): BrokerClient {
  const call = async <O extends BrokerOp>(unit: string, op: O, params: Record<string, string | number> = {}): Promise<BrokerReplies[O]> => {
    if (!url) throw new BrokerError('no broker: this process was not started by netlab-run');
    const query = new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)])).toString();
    const res = await fetch(`${url}/units/${encodeURIComponent(unit)}/${op}${query ? `?${query}` : ''}`, { method: 'POST', signal: AbortSignal.timeout(600_000) });
    const body = await res.json() as BrokerReplies[O] & { error?: string; fix?: string };
    if (!res.ok) throw new BrokerError(body.error ?? `broker answered ${res.status}`, body.fix);
    return body;
  };
  return {
    acquire: (unit) => call(unit, 'acquire'),
    release: async (unit) => { await call(unit, 'release'); },
    health: (unit, waitMs) => call(unit, 'health', { wait: waitMs }),
    kill: async (unit, machine, reason) => { await call(unit, 'kill', { machine, reason }); },
    captureStart: async (unit, capture) => { await call(unit, 'capture-start', { capture }); },
    captureStop: (unit, capture) => call(unit, 'capture-stop', { capture }),
  };
}
