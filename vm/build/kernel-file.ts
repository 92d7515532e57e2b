// The kernel file QEMU boots: the bzImage as shipped, or, when its own decompressor would be slow
// on the emulated CPU (~3 s per boot for xz), its payload decompressed here into an ELF `vmlinux`
// that QEMU boots through its PVH entry point.
import { copyFile, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { findTool } from './host-tools.ts';

/** Compression of a bzImage's payload, from its boot protocol header (undefined: not a bzImage). */
export function bzImagePayload(buf: Buffer): { offset: number; length: number; compression: string } | undefined {
  if (buf.length < 0x250 || buf.toString('latin1', 0x202, 0x206) !== 'HdrS') return undefined;
  if (buf.readUInt16LE(0x206) < 0x208) return undefined; // payload fields since boot protocol 2.08
  const setupSects = buf[0x1f1] || 4;
  const offset = (setupSects + 1) * 512 + buf.readUInt32LE(0x248);
  const length = buf.readUInt32LE(0x24c);
  if (offset + length > buf.length || length < 16) return undefined;
  const p = buf.subarray(offset, offset + 6);
  const compression =
    p.equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])) ? 'xz'
    : p[0] === 0x1f && p[1] === 0x8b ? 'gzip'
    : p.readUInt32LE(0) === 0x184c2102 ? 'lz4'
    : p.readUInt32LE(0) === 0xfd2fb528 ? 'zstd'
    : p.toString('latin1', 0, 3) === 'BZh' ? 'bzip2'
    : p[0] === 0x5d && p[1] === 0x00 ? 'lzma'
    : p[0] === 0x89 && p.toString('latin1', 1, 4) === 'LZO' ? 'lzo'
    : 'unknown';
  return { offset, length, compression };
}

/** Whether an ELF kernel has a PVH entry point (Xen ELF note XEN_ELFNOTE_PHYS32_ENTRY = 18). */
export function elfHasPvhEntry(buf: Buffer): boolean {
  if (buf.length < 64 || buf.readUInt32BE(0) !== 0x7f454c46 || buf[4] !== 2 || buf[5] !== 1) return false;
  const phoff = Number(buf.readBigUInt64LE(0x20));
  const phentsize = buf.readUInt16LE(0x36);
  const phnum = buf.readUInt16LE(0x38);
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * phentsize;
    if (ph + 56 > buf.length || buf.readUInt32LE(ph) !== 4 /* PT_NOTE */) continue;
    let off = Number(buf.readBigUInt64LE(ph + 8));
    const end = off + Number(buf.readBigUInt64LE(ph + 32));
    while (off + 12 <= end && end <= buf.length) {
      const namesz = buf.readUInt32LE(off);
      const descsz = buf.readUInt32LE(off + 4);
      const type = buf.readUInt32LE(off + 8);
      const name = buf.toString('latin1', off + 12, off + 12 + Math.max(0, namesz - 1));
      if (name === 'Xen' && type === 18) return true;
      off += 12 + Math.ceil(namesz / 4) * 4 + Math.ceil(descsz / 4) * 4;
    }
  }
  return false;
}

/** Decompressors for bzImage payloads (each ends in a 4-byte size the tools may call trailing garbage). */
const PAYLOAD_TOOLS: Record<string, string[]> = {
  xz: ['xz', '-dc', '--single-stream'], lzma: ['xz', '-dc', '--format=lzma'], bzip2: ['bzip2', '-dc'],
  gzip: ['gzip', '-dc'], lz4: ['lz4', '-dc'], zstd: ['zstd', '-dcq'],
};

/** Whether an ELF file holds every segment and the section table its headers describe (not truncated). */
export function elfComplete(buf: Buffer): boolean {
  if (buf.length < 64 || buf.readUInt32BE(0) !== 0x7f454c46 || buf[4] !== 2) return false;
  const phoff = Number(buf.readBigUInt64LE(0x20));
  const shoff = Number(buf.readBigUInt64LE(0x28));
  const phentsize = buf.readUInt16LE(0x36);
  const phnum = buf.readUInt16LE(0x38);
  if (phoff + phnum * phentsize > buf.length) return false;
  if (shoff + buf.readUInt16LE(0x3a) * buf.readUInt16LE(0x3c) > buf.length) return false;
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * phentsize;
    if (Number(buf.readBigUInt64LE(ph + 8)) + Number(buf.readBigUInt64LE(ph + 32)) > buf.length) return false;
  }
  return true;
}

/** Installs the kernel into `out`: as a PVH-bootable `vmlinux` when possible, else the bzImage as `vmlinuz`. Returns the file name. */
export async function installKernel(src: string, out: string, progress: (m: string) => void, signal?: AbortSignal): Promise<string> {
  const buf = await readFile(src);
  const payload = bzImagePayload(buf);
  const cmd = payload ? PAYLOAD_TOOLS[payload.compression] : undefined;
  if (payload && cmd && findTool(cmd[0]!)) {
    progress(`decompressing the ${payload.compression} kernel for a PVH boot`);
    const packed = join(out, 'payload.tmp');
    const vmlinux = join(out, 'vmlinux');
    await writeFile(packed, buf.subarray(payload.offset, payload.offset + payload.length));
    // Redirected by the shell: execa piping tens of MB through JS costs ~9 s. Exit codes are ignored
    // (the size trailer reads as trailing garbage); the ELF checks below decide.
    await execa('sh', ['-c', 'exec "$@" < "$0" > "$1"', packed, vmlinux, ...cmd], { reject: false, cancelSignal: signal, stdin: 'ignore' });
    await rm(packed, { force: true });
    const elf = await readFile(vmlinux);
    if (elfComplete(elf) && elfHasPvhEntry(elf)) return 'vmlinux';
    await rm(vmlinux, { force: true });
    progress('the decompressed kernel is incomplete or has no PVH entry: keeping the bzImage');
  }
  await copyFile(src, join(out, 'vmlinuz'));
  return 'vmlinuz';
}
