// The initramfs: a static busybox, guest-files/initramfs-init as /init, and only the modules needed
// to reach the root disk (those the kernel does not have built in), decompressed to plain .ko; every
// other module reaches the guest on the modules disk.
import { chmod, copyFile, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { execa } from 'execa';
import { guestFile, safeRemove } from './build-steps.ts';
import { InfraError } from '../errors.ts';
import { findTool } from './host-tools.ts';

/** What the initramfs loads when they are modules (dependencies come from modules.dep). */
export const INITRD_TARGETS = ['virtio_pci', 'virtio_blk', 'crc32c_generic', 'ext4'] as const;

/** Host busybox, which must be static (the initramfs has no libc). */
export async function staticBusybox(): Promise<string> {
  const p = findTool('busybox');
  if (!p) throw new InfraError('busybox is missing', { fix: 'apt-get install -y busybox-static' });
  const buf = await readFile(p);
  if (buf.length < 64 || buf.readUInt32BE(0) !== 0x7f454c46 || buf[4] !== 2) {
    throw new InfraError(`${p} is not a 64-bit ELF executable`, { fix: 'apt-get install -y busybox-static' });
  }
  const phoff = Number(buf.readBigUInt64LE(0x20));
  const phentsize = buf.readUInt16LE(0x36);
  const phnum = buf.readUInt16LE(0x38);
  for (let i = 0; i < phnum; i++) {
    if (buf.readUInt32LE(phoff + i * phentsize) === 3 /* PT_INTERP */) {
      throw new InfraError(`${p} is dynamically linked; the initramfs needs a static busybox`, { fix: 'apt-get install -y busybox-static' });
    }
  }
  return p;
}

const moduleName = (path: string) => basename(path).replace(/\.ko(\.(xz|zst|gz))?$/, '').replace(/-/g, '_');

/** Modules to load, dependencies first, for `targets` (built-in or absent ones skipped). Pure. */
export function initrdModuleOrder(modulesDep: string, modulesBuiltin: string, targets: readonly string[]): { name: string; path: string }[] {
  const deps = new Map<string, { path: string; deps: string[] }>();
  for (const line of modulesDep.split('\n')) {
    const cut = line.indexOf(':');
    if (cut <= 0) continue;
    const path = line.slice(0, cut).trim();
    const d = line.slice(cut + 1).trim().split(/\s+/).filter(Boolean);
    deps.set(moduleName(path), { path, deps: d.map(moduleName) });
  }
  const builtin = new Set(modulesBuiltin.split('\n').filter(Boolean).map(moduleName));
  const order: { name: string; path: string }[] = [];
  const seen = new Set<string>();
  const visit = (n: string) => {
    if (seen.has(n) || builtin.has(n)) return;
    const e = deps.get(n);
    if (!e) return;
    seen.add(n);
    for (const d of e.deps) visit(d);
    order.push({ name: n, path: e.path });
  };
  for (const t of targets) visit(t.replace(/-/g, '_'));
  return order;
}

export async function buildInitramfs(modDir: string, stage: string, outFile: string, busybox: string, signal?: AbortSignal): Promise<string[]> {
  const dep = await readFile(join(modDir, 'modules.dep'), 'utf8');
  const builtin = await readFile(join(modDir, 'modules.builtin'), 'utf8').catch(() => '');
  const order = initrdModuleOrder(dep, builtin, INITRD_TARGETS);
  for (const d of ['bin', 'sbin', 'etc', 'proc', 'sys', 'dev', 'newroot', 'lib/modules', 'usr/bin', 'usr/sbin']) {
    await mkdir(join(stage, d), { recursive: true });
  }
  await copyFile(busybox, join(stage, 'bin', 'busybox'));
  await chmod(join(stage, 'bin', 'busybox'), 0o755);
  await symlink('busybox', join(stage, 'bin', 'sh'));
  await copyFile(guestFile('initramfs-init'), join(stage, 'init'));
  await chmod(join(stage, 'init'), 0o755);
  // The kernel's own built-in initramfs has /dev/console; ours too when we may create device nodes.
  await execa('mknod', ['-m', '600', join(stage, 'dev', 'console'), 'c', '5', '1'], { reject: false });
  for (const m of order) {
    const src = join(modDir, m.path);
    const dst = join(stage, 'lib', 'modules', `${m.name}.ko`);
    if (src.endsWith('.xz')) await execa('sh', ['-c', 'xz -dc "$1" > "$2"', 'sh', src, dst], { cancelSignal: signal });
    else if (src.endsWith('.zst')) await execa('zstd', ['-q', '-d', '-f', '-o', dst, src], { cancelSignal: signal });
    else if (src.endsWith('.gz')) await execa('sh', ['-c', 'gzip -dc "$1" > "$2"', 'sh', src, dst], { cancelSignal: signal });
    else await copyFile(src, dst);
  }
  await writeFile(join(stage, 'etc', 'modules.load'), order.map((m) => m.name).join('\n') + '\n');
  await execa('bash', ['-c', 'set -o pipefail; cd "$1" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc -R 0:0 --quiet | gzip -9 > "$2"', 'bash', stage, outFile], { cancelSignal: signal });
  await safeRemove(stage);
  return order.map((m) => m.name);
}
