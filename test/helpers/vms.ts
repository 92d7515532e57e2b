import { ensureImage } from '../../vm/build/image.ts';
import { ensureKernel } from '../../vm/build/kernel.ts';
import { startVmSet, type MachinePlan, type VmSetOptions } from '../../vm/qemu/machine-set.ts';
import type { LinkDef } from '../../vm/qemu/links.ts';

/** Boots machines of the default image and kernel under TCG, as the engine's tests need them. */
export async function bootMachines(names: string[], links: LinkDef[] = [], extra: Partial<VmSetOptions> = {}) {
  const image = await ensureImage();
  const kernel = await ensureKernel('debian:bookworm');
  const machines: MachinePlan[] = names.map((name) => ({ name, memoryMb: 256, cpus: 1, kernel }));
  return startVmSet({ label: 'test', image, machines, links, accel: 'tcg', ...extra });
}
