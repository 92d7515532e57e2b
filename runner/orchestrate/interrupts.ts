// Ctrl-C and SIGTERM during a run: the first stops the run and its VMs (the reports keep what
// finished), a second exits at once with 130.
import { EXIT } from '../exit-codes.ts';
import type { VmPool } from './vm-pool.ts';

export interface Interrupts {
  signal: AbortSignal;
  /** Hands over the run's pool, so a signal stops its VMs. */
  onPool: (pool: VmPool) => void;
  /** Removes the handlers. */
  dispose: () => void;
}

export function stopOnSignals(what: string, paint: (text: string) => string = (t) => t): Interrupts {
  const ac = new AbortController();
  let pool: VmPool | undefined;
  let count = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    if (++count > 1) process.exit(EXIT.interrupted);
    process.stderr.write(`\n${paint(`netlab: ${sig}: stopping ${what} and its VMs…`)}\n`);
    ac.abort();
    void pool?.stopAll();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: ac.signal,
    onPool: (p) => { pool = p; },
    dispose: () => { process.off('SIGINT', onSignal); process.off('SIGTERM', onSignal); },
  };
}
