import { ensureImage } from '../../vm/build/image.ts';
import { ensureKernel } from '../../vm/build/kernel.ts';
import { chooseAccel } from '../../vm/qemu/accel.ts';
import { startVmSet } from '../../vm/qemu/machine-set.ts';
import type { Accel } from '../../vm/qemu/args.ts';
import { loadLab } from '../lab/load.ts';
import { progressPrinter } from '../orchestrate/progress.ts';
import { findLiveEndpoints, openShell } from './shell.ts';
import { requireTools } from '../../vm/build/host-tools.ts';
import { HOST_TOOLS } from '../orchestrate/run.ts';

// `netlab-run shell <lab> [machine]`: join a kept run's machine, or boot the lab's machines (no
// setup, no submission) for the length of the shell.
export async function shellCommand(labPath: string, machine: string | undefined, command: string[], accel?: Accel): Promise<number> {
  const { lab } = await loadLab(labPath);
  const live = await findLiveEndpoints(lab.name);
  if (live) return openShell(live, machine, command);
  await requireTools(HOST_TOOLS);
  const onEvent = progressPrinter({ verbose: false, quiet: false });
  const image = await ensureImage({ onEvent });
  const kernels = new Map<string, Awaited<ReturnType<typeof ensureKernel>>>();
  for (const k of new Set([lab.kernel, ...Object.values(lab.machines).flatMap((m) => (m.kernel ? [m.kernel] : []))])) kernels.set(k, await ensureKernel(k, { onEvent }));
  const k0 = kernels.get(lab.kernel)!;
  const choice = await chooseAccel({ force: accel, kernel: k0.kernel, initrd: k0.initrd, onEvent });
  const set = await startVmSet({
    label: lab.name, image, accel: choice.accel, onEvent, links: lab.links,
    machines: Object.entries(lab.machines).map(([name, m]) => ({ name, memoryMb: m.memory, cpus: m.cpus, kernel: kernels.get(m.kernel ?? lab.kernel)! })),
  });
  const stop = () => { void set.stop(); };
  process.once('SIGTERM', stop);
  try {
    return await openShell(set.endpoints(), machine, command);
  } finally {
    process.off('SIGTERM', stop);
    await set.stop();
  }
}
