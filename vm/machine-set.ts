// The runner's one door into vm/: what booting a lab needs (host tools, the runtime folder, the
// image, the kernels, how to run the CPU), which backend starts a lab's machines, and stopping every
// set still running on the way out.
import { requireTools } from './build/host-tools.ts';
import { DEFAULT_PACKAGES, ensureImage } from './build/image.ts';
import { ensureKernel } from './build/kernel.ts';
import type { EventSink } from './events.ts';
import { chooseAccel } from './qemu/accel.ts';
import type { Accel } from './qemu/args.ts';
import type { LinkDef } from './qemu/links.ts';
import { startVmSet, stopAllVmSets, type MachinePlan } from './qemu/machine-set.ts';
import { secureRuntimeRoot } from './runtime.ts';
import type { ImageInfo, KernelInfo, MachineSet } from './types.ts';
import { startVagrantSet, stopAllVagrantSets } from './vagrant/machine-set.ts';

export type { Accel, LinkDef, MachinePlan };

/** Who starts the machines: QEMU directly (snapshots, the default) or Vagrant (vagrant-libvirt). */
export type Backend = 'qemu' | 'vagrant';

/** What a run needs on the host before anything is built or booted. */
export const HOST_TOOLS = ['qemu-system-x86_64', 'qemu-img', 'mmdebstrap', 'mkfs.ext4', 'dpkg-deb', 'depmod', 'cpio', 'busybox', 'tcpdump', 'setpriv', 'ssh-keygen'];

/**
 * Built or found once per run: the base image, the images of machines that ask for more packages (by
 * imageKey of those packages), each kernel by name, and how the CPU runs.
 */
export interface BootInputs { image: ImageInfo; images: Map<string, ImageInfo>; kernels: Map<string, KernelInfo>; accel: Accel }

/** The key of a machine's image among BootInputs.images: its extra packages, sorted ('' for the base image). */
export const imageKey = (packages: readonly string[] = []): string => [...new Set(packages)].sort().join(',');

export interface BootPreparation {
  backend: Backend;
  /** Kernel names as lab.yaml and --kernel give them (`debian:bookworm`, `local:...`). */
  kernels: string[];
  /** Extra packages of machines that need more than the base image (lab.yaml `packages`), one list per image. */
  packageSets?: string[][];
  /** Forced accel (--accel); else probed (QEMU backend) or TCG (Vagrant's plain QEMU driver). */
  accel?: Accel;
  /** Ask the mirror for each Debian kernel's newest version instead of taking the cached one (default: NETLAB_REFRESH_KERNELS=1). */
  refreshKernels?: boolean;
  onEvent: EventSink;
  signal?: AbortSignal;
}

export async function prepareBoot(p: BootPreparation): Promise<BootInputs> {
  await requireTools(HOST_TOOLS);
  // Before anything is built or booted: a runtime folder someone else made is refused at once.
  await secureRuntimeRoot();
  const image = await ensureImage({ onEvent: p.onEvent, signal: p.signal });
  const images = new Map<string, ImageInfo>([['', image]]);
  for (const extra of p.packageSets ?? []) {
    const key = imageKey(extra);
    if (!images.has(key)) images.set(key, await ensureImage({ packages: [...DEFAULT_PACKAGES, ...extra], onEvent: p.onEvent, signal: p.signal }));
  }
  const kernels = new Map<string, KernelInfo>();
  for (const n of p.kernels) kernels.set(n, await ensureKernel(n, { onEvent: p.onEvent, signal: p.signal, refresh: p.refreshKernels ?? process.env.NETLAB_REFRESH_KERNELS === '1' }));
  const first = kernels.values().next().value!;
  // vagrant-libvirt runs its machines with libvirt's plain QEMU driver (TCG): no probe needed.
  const { accel } = p.backend === 'vagrant' ? { accel: 'tcg' as const }
    : await chooseAccel({ force: p.accel, kernel: first.kernel, initrd: first.initrd, onEvent: p.onEvent });
  return { image, images, kernels, accel };
}

export interface MachineSetRequest {
  /** Names resources (run folder, QEMU -name, Vagrant project): e.g. the lab's name. */
  label: string;
  image: ImageInfo;
  accel: Accel;
  machines: MachinePlan[];
  links?: LinkDef[];
  onEvent?: EventSink;
  signal?: AbortSignal;
}

export function startMachineSet(backend: Backend, req: MachineSetRequest): Promise<MachineSet> {
  if (backend === 'vagrant') {
    const { accel: _tcgAlways, ...rest } = req;
    return startVagrantSet(rest);
  }
  return startVmSet(req);
}

/** Stops every machine set of this process, whichever backend started it. */
export async function stopAllMachineSets(): Promise<void> {
  await Promise.all([stopAllVmSets(), stopAllVagrantSets()]);
}
export { COLD_BOOTS_AT_ONCE } from './qemu/machine-set.ts';
