// A Vagrant box (libvirt provider) made from our own cached image and kernel, offline: the root
// filesystem as qcow2, plus the kernel, initramfs and modules disk for direct kernel boot, with a
// box Vagrantfile that boots them. The base image is only read (qemu-img convert makes the copy).
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile, copyFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { cacheRoot } from '../build/cache.ts';
import { InfraError } from '../errors.ts';
import type { EventSink } from '../events.ts';
import type { ImageInfo, KernelInfo } from '../types.ts';
import { MODULES_DISK_SLOT } from './vagrantfile.ts';

export interface BoxInfo {
  /** As `config.vm.box` names it. */
  name: string;
  /** The packed box file. */
  file: string;
}

export const boxName = (image: ImageInfo) => `netlab/${image.recipeHash}`;

// The box's own Vagrantfile: a user's Vagrantfile with just `config.vm.box = "netlab/..."` boots it.
function boxVagrantfile(kernel: KernelInfo): string {
  return `# netlab-run box: Debian ${kernel.version} booted directly (no bootloader in the disk).
Vagrant.configure("2") do |config|
  dir = File.dirname(__FILE__)
  config.vm.synced_folder ".", "/vagrant", disabled: true
  config.vm.box_check_update = false
  config.vm.allow_fstab_modification = false
  config.vm.guest = :debian
  config.ssh.username = "root"
  config.ssh.private_key_path = File.join(dir, "id_ed25519")
  config.ssh.insert_key = false
  config.ssh.sudo_command = "%c"
  config.vm.provider :libvirt do |lv|
    lv.driver = "qemu"
    lv.cpu_mode = "custom"
    lv.cpu_model = "qemu64"
    lv.memory = 256
    lv.kernel = File.join(dir, "vmlinux")
    lv.initrd = File.join(dir, "initrd.img")
    lv.cmd_line = "console=ttyS0 panic=-1 quiet netlab.ip=dhcp"
    lv.graphics_type = "none"
    lv.video_type = "none"
    lv.qemuargs value: "-drive"
    lv.qemuargs value: "file=#{File.join(dir, "modules.img")},if=none,id=kmods,format=raw,readonly=on"
    lv.qemuargs value: "-device"
    lv.qemuargs value: "virtio-blk-pci,drive=kmods,addr=${MODULES_DISK_SLOT}"
  end
end
`;
}

// Builds (once per image and kernel) the .box file in the cache. An uncompressed tar: vagrant box add
// takes it as is, and gzip of a few hundred MB would cost more than it saves.
export async function ensureBoxFile(image: ImageInfo, kernel: KernelInfo, emit: EventSink = () => {}): Promise<BoxInfo> {
  const dir = join(cacheRoot(), 'vagrant', 'boxes', `${image.recipeHash}-${kernel.version}`);
  const file = join(dir, 'netlab.box');
  const info = { name: boxName(image), file };
  if (existsSync(file)) return info;
  const t0 = Date.now();
  emit({ type: 'image-build', phase: 'start', message: `packing the Vagrant box ${info.name}` });
  const tmp = `${dir}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  try {
    await execa('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', image.rootfs, join(tmp, 'box.img')]);
    // vagrant-libvirt wants a whole number of GiB as the virtual size.
    await execa('qemu-img', ['resize', '-q', join(tmp, 'box.img'), '2G']);
    await writeFile(join(tmp, 'metadata.json'), JSON.stringify({ provider: 'libvirt', format: 'qcow2', virtual_size: 2 }));
    await writeFile(join(tmp, 'Vagrantfile'), boxVagrantfile(kernel));
    await Promise.all([
      copyFile(kernel.kernel, join(tmp, 'vmlinux')), copyFile(kernel.initrd, join(tmp, 'initrd.img')),
      copyFile(kernel.modulesDisk, join(tmp, 'modules.img')), copyFile(image.sshKey, join(tmp, 'id_ed25519')),
    ]);
    const parts = ['metadata.json', 'Vagrantfile', 'box.img', 'vmlinux', 'initrd.img', 'modules.img', 'id_ed25519'];
    await execa('tar', ['-C', tmp, '-cf', join(tmp, 'netlab.box'), ...parts]);
    for (const p of parts) await rm(join(tmp, p), { force: true });
    await rm(dir, { recursive: true, force: true });
    await rename(tmp, dir);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw new InfraError(`could not pack the Vagrant box: ${(err as Error).message.split('\n')[0]}`, { cause: err });
  }
  emit({ type: 'image-build', phase: 'done', message: `packed ${file}`, ms: Date.now() - t0 });
  return info;
}

/** `vagrant box add` of the box into `vagrantHome` (netlab's own box store, or the user's), once. */
export async function addBox(box: BoxInfo, vagrantHome: string | undefined): Promise<void> {
  const env = vagrantEnv(vagrantHome);
  // Vagrant's own layout (a box added from a file is version 0): a file test, not a `vagrant box
  // list` that starts Ruby for a second or two on every run.
  const home = vagrantHome ?? process.env.VAGRANT_HOME ?? join(homedir(), '.vagrant.d');
  if (existsSync(join(home, 'boxes', box.name.replace(/\//g, '-VAGRANTSLASH-'), '0', 'libvirt', 'metadata.json'))) return;
  const r = await execa('vagrant', ['box', 'add', '--force', '--name', box.name, box.file], { env, reject: false, all: true });
  if (r.exitCode !== 0) throw new InfraError(`vagrant box add ${box.name} failed: ${r.all?.trim().split('\n').slice(-3).join(' ')}`);
}

/** Where netlab keeps the boxes it added for its own runs (each run links to it). */
export function boxStore(): string {
  return join(cacheRoot(), 'vagrant', 'home');
}

export function vagrantEnv(home: string | undefined, extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...(home ? { VAGRANT_HOME: home } : {}),
    VAGRANT_CHECKPOINT_DISABLE: '1', VAGRANT_DEFAULT_PROVIDER: 'libvirt', VAGRANT_NO_COLOR: '1',
    VAGRANT_DISABLE_VBOXSYMLINKCREATE: '1', LIBVIRT_DEFAULT_URI: 'qemu:///system', ...extra,
  };
}
