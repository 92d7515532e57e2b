import type { Lab } from '../lab/schema.ts';
import type { UnitSpec } from '../protocol/units.ts';

/** How long a unit's first test waits for its VMs (a cold boot under emulation, a queue of units). */
export const BOOT_BUDGET_MS = 4 * 60_000;
/** Set by netlab-run for Playwright's workers when a run has more to boot cold than fits in BOOT_BUDGET_MS. */
export const BOOT_BUDGET_ENV = 'NETLAB_BOOT_BUDGET_MS';
/** A cold boot with its snapshot save, one retry included, under emulation on a busy machine. */
const COLD_BOOT_MS = 120_000;

export const bootBudgetMs = (): number => Number(process.env[BOOT_BUDGET_ENV]) || BOOT_BUDGET_MS;

/**
 * The wait a run's units may need for their VMs: cold boots take turns (a few at once, see
 * vm/qemu/machine-set.ts), so a unit may wait for every machine shape of the run (kernel, memory,
 * packages, boot steps, lock) to boot cold before its own, the first time those shapes run. An upper
 * bound: restored units never come near it, and it still ends a boot that hangs.
 */
export function runBootBudgetMs(units: { spec: UnitSpec; lab: Lab }[], coldAtOnce: number): number {
  // Each shape's turn: a cold boot, and its boot steps up to their limits.
  const shapes = new Map(units.flatMap(({ spec, lab }) => Object.values(lab.machines).map((m): [string, number] => [
    JSON.stringify([m.kernel ?? spec.kernel, spec.kernel, m.memory, m.cpus, m.packages, m.boot, lab.lock, lab.links.map((l) => l.mtu)]),
    COLD_BOOT_MS + m.boot.reduce((t, b) => t + b.timeout, 0)])));
  const turns = [...shapes.values()].sort((a, b) => b - a);
  const lanes = Math.max(1, coldAtOnce);
  // The longest turns first, `lanes` at a time: the sum of every lane-th one bounds the wait.
  return BOOT_BUDGET_MS + turns.filter((_, i) => i % lanes === 0).reduce((t, ms) => t + ms, 0);
}
