import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DownMachine, HostCaptureStop, TamperNote, UnitLease } from '../protocol/units.ts';

// Runs in netlab-run. Its client is runner/protocol/broker-client.ts.

// The VMs live in the netlab-run process, not in Playwright workers: a failed test restarts its
// worker (microsoft/playwright#32803), and the lab must survive that. Workers lease a unit's machines
// over this loopback HTTP endpoint and reconnect over SSH; a restarted worker gets the same VMs.

export interface BrokerHandlers {
  acquire(unitId: string): Promise<UnitLease>;
  release(unitId: string): Promise<void>;
  /** Machines of the unit that are down; waits up to waitMs for one to go down (a guest powering off). */
  health?(unitId: string, waitMs: number): Promise<{ down: DownMachine[]; tampered?: TamperNote[] }>;
  /** Stops one machine that stopped answering; it stays down, with this reason. */
  kill?(unitId: string, machine: string, reason: string): Promise<void>;
  /** Starts or stops a capture of the lab NIC of a machine on the host side of its link (UnitLease.hostCaptures). */
  captureStart?(unitId: string, capture: string): Promise<void>;
  captureStop?(unitId: string, capture: string): Promise<HostCaptureStop>;
}

export interface Broker { url: string; close(): Promise<void> }

// Any local process, and any web page (a no-cors POST), can reach a loopback port: the broker answers
// only requests whose path starts with a secret made for this run, which travels to the workers in
// their run settings (runner/protocol/wire.ts: `broker` holds the whole URL), and never one a browser sent (Origin).
export async function startBroker(h: BrokerHandlers): Promise<Broker> {
  const secret = randomBytes(24).toString('base64url');
  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://broker');
    const m = /^\/([^/]+)\/units\/([^/]+)\/(acquire|release|health|kill|capture-start|capture-stop)$/.exec(url.pathname);
    if (!m || req.method !== 'POST' || req.headers.origin !== undefined || !sameSecret(m[1]!, secret)) { res.writeHead(404).end(); return; }
    m.splice(1, 1);
    const id = decodeURIComponent(m[1]!);
    const q = url.searchParams;
    try {
      const body = m[2] === 'acquire' ? await h.acquire(id)
        : m[2] === 'health' ? (await h.health?.(id, Math.min(30_000, Number(q.get('wait')) || 0))) ?? { down: [] }
          : m[2] === 'kill' ? (await h.kill?.(id, q.get('machine') ?? '', q.get('reason') ?? 'stopped by the grader'), { ok: true })
            : m[2] === 'capture-start' ? (await noCapture(h.captureStart)(id, q.get('capture') ?? ''), { ok: true })
              : m[2] === 'capture-stop' ? await noCapture(h.captureStop)(id, q.get('capture') ?? '')
                : (await h.release(id), { ok: true });
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    } catch (err) {
      const e = err as Error;
      res.writeHead(503, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: e.message, name: e.name, fix: (e as { fix?: string }).fix }));
    }
  });
  // Boots take long under emulation: never let Node's default request timeout cut an acquire.
  server.requestTimeout = 0;
  server.headersTimeout = 0;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/${secret}`,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

function noCapture<A extends unknown[], R>(f: ((...a: A) => Promise<R>) | undefined): (...a: A) => Promise<R> {
  return f ?? (() => Promise.reject(new Error('this run takes no captures on the host')));
}

function sameSecret(given: string, secret: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(secret);
  return a.length === b.length && timingSafeEqual(a, b);
}
