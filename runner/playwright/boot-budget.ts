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
  const shapes = new Set(units.flatMap(({ spec, lab }) => Object.values(lab.machines).map((m) =>
    JSON.stringify([m.kernel ?? spec.kernel, spec.kernel, m.memory, m.cpus, m.packages, m.boot, lab.lock, lab.links.map((l) => l.mtu)]))));
  return BOOT_BUDGET_MS + Math.ceil(shapes.size / Math.max(1, coldAtOnce)) * COLD_BOOT_MS;
}
