// Bounds the host disk a guest can take. A machine writes into its own qcow2 overlay, which grows up
// to the image's full size (1.5 GiB) however little the lab needs, and a class keeps a dozen machines
// alive: a submission that fills its disk must not fill the host's. QEMU has no size quota for an
// overlay, so the host looks at the space each overlay takes and stops a machine that passes the limit.
import { stat } from 'node:fs/promises';
import { positiveIntFromEnv } from '../env-limit.ts';

/** Host bytes one machine's overlay may take (NETLAB_MAX_DISK overrides, in MiB). */
export const DEFAULT_DISK_LIMIT = 256 * 1024 * 1024;
const EVERY_MS = 250;

export function diskLimit(env: NodeJS.ProcessEnv = process.env): number {
  return positiveIntFromEnv(env.NETLAB_MAX_DISK, DEFAULT_DISK_LIMIT / 2 ** 20) * 2 ** 20;
}

/** Space a file takes on disk (a sparse file counts what is allocated, not its length). */
export async function allocatedBytes(path: string): Promise<number> {
  const st = await stat(path).catch(() => undefined);
  return st ? st.blocks * 512 : 0;
}

/**
 * Checks each machine's overlay every 250 ms and calls onOver once for a machine whose overlay takes
 * more than maxBytes. Under emulation a guest writes well under 200 MB/s, so it passes the limit by
 * at most a few tens of MB before it is stopped.
 */
export function watchDisks(overlays: Map<string, string>, maxBytes: number, onOver: (machine: string, bytes: number) => void): { stop(): void } {
  const over = new Set<string>();
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    void Promise.all([...overlays].filter(([m]) => !over.has(m)).map(async ([machine, path]) => {
      const bytes = await allocatedBytes(path);
      if (bytes > maxBytes && !over.has(machine)) { over.add(machine); onOver(machine, bytes); }
    })).finally(() => { busy = false; });
  }, EVERY_MS);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
