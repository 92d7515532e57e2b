import { prepareBoot, startMachineSet, type Accel } from '../../vm/machine-set.ts';
import { loadLab } from '../lab/load.ts';
import { progressPrinter } from '../orchestrate/progress.ts';
import { findLiveEndpoints, openShell } from './shell.ts';

// `netlab-run shell <lab> [machine]`: join a kept run's machine, or boot the lab's machines (no
// setup, no submission) for the length of the shell.
export async function shellCommand(labPath: string, machine: string | undefined, command: string[], accel?: Accel): Promise<number> {
  const { lab } = await loadLab(labPath);
  const live = await findLiveEndpoints(lab.name);
  if (live) return openShell(live, machine, command);
  const onEvent = progressPrinter({ verbose: false });
  const names = [...new Set([lab.kernel, ...Object.values(lab.machines).flatMap((m) => (m.kernel ? [m.kernel] : []))])];
  const boot = await prepareBoot({ backend: 'qemu', kernels: names, accel, onEvent });
  const set = await startMachineSet('qemu', {
    label: lab.name, image: boot.image, accel: boot.accel, onEvent, links: lab.links,
    machines: Object.entries(lab.machines).map(([name, m]) => ({ name, memoryMb: m.memory, cpus: m.cpus, lock: lab.lock, kernel: boot.kernels.get(m.kernel ?? lab.kernel)! })),
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
