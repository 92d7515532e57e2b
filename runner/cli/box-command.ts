// `netlab-run image box`: packs the cached image and a kernel as a Vagrant box (libvirt provider,
// direct kernel boot) and `vagrant box add`s it, for courses that hand students a Vagrantfile.
import { copyFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { requireTools } from '../../vm/build/host-tools.ts';
import { ensureImage } from '../../vm/build/image.ts';
import { ensureKernel } from '../../vm/build/kernel.ts';
import { addBox, ensureBoxFile } from '../../vm/vagrant/box.ts';
import { UsageError } from '../errors.ts';
import { progressPrinter } from '../orchestrate/progress.ts';

export interface BoxOptions { provider: string; kernel: string; out?: string; add: boolean }

export async function boxCommand(o: BoxOptions): Promise<number> {
  if (o.provider !== 'libvirt') {
    throw new UsageError(`no ${o.provider} box: netlab-run packs boxes for the libvirt provider only`,
      'on VirtualBox, use a Debian box of your own with the provisioning in docs/vagrant.md ("VirtualBox on a laptop")');
  }
  requireTools(['qemu-img', 'tar', ...(o.add ? ['vagrant'] : [])]);
  const onEvent = progressPrinter({ verbose: false });
  const image = await ensureImage({ onEvent });
  const kernel = await ensureKernel(o.kernel, { onEvent });
  const box = await ensureBoxFile(image, kernel, onEvent);
  if (o.out) await copyFile(box.file, resolve(o.out));
  // The user's own Vagrant (VAGRANT_HOME if set, else ~/.vagrant.d): their Vagrantfiles can use it.
  if (o.add) await addBox(box, process.env.VAGRANT_HOME);
  process.stdout.write(`box: ${box.name} (${kernel.version})\nfile: ${o.out ? resolve(o.out) : box.file}\n`
    + (o.add ? `added: use it with   config.vm.box = "${box.name}"   (provider libvirt)\n` : ''));
  return 0;
}
