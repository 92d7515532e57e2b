// A kernel of the user's own (`local:<bzImage>:<modules>`): the modules tree that goes with the
// bzImage, and what the build saw of both, so a rebuilt kernel is noticed and built again.
import { open, readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { exists } from './build-steps.ts';
import { KernelSpecError, type KernelSpec } from './kernel-spec.ts';

/** What a local kernel's build saw, kept in its manifest: a rebuilt kernel or modules tree shows as a change here. */
export interface LocalSource { bzImage: string; bzImageMtimeMs: number; bzImageSize: number; modules: string; modulesMtimeMs: number }

type LocalKernel = Extract<KernelSpec, { kind: 'local' }>;

export async function localSource(k: LocalKernel): Promise<LocalSource> {
  let bz, md;
  try { bz = await stat(k.bzImage); } catch { throw new KernelSpecError(k.spec, `no such bzImage ${k.bzImage}`); }
  try { md = await stat(k.modules); } catch { throw new KernelSpecError(k.spec, `no such modules folder ${k.modules}`); }
  if (!bz.isFile()) throw new KernelSpecError(k.spec, `${k.bzImage} is not a file`);
  if (!md.isDirectory()) throw new KernelSpecError(k.spec, `${k.modules} is not a folder`);
  // The version folder's mtime changes when `make modules_install` rewrites it.
  let modulesMtimeMs = md.mtimeMs;
  try {
    const r = await resolveLocalModules(k);
    modulesMtimeMs = Math.max(modulesMtimeMs, (await stat(r.dir)).mtimeMs);
  } catch { /* reported by the build */ }
  return { bzImage: k.bzImage, bzImageMtimeMs: bz.mtimeMs, bzImageSize: bz.size, modules: k.modules, modulesMtimeMs };
}

/** The `uname -r` a bzImage announces in its setup header, if it has one. */
export async function readBzImageVersion(path: string): Promise<string | undefined> {
  const fh = await open(path, 'r');
  try {
    const hdr = Buffer.alloc(0x210);
    const { bytesRead } = await fh.read(hdr, 0, hdr.length, 0);
    if (bytesRead < 0x210 || hdr.toString('latin1', 0x202, 0x206) !== 'HdrS') return undefined;
    const ptr = hdr.readUInt16LE(0x20e);
    if (ptr === 0) return undefined;
    const buf = Buffer.alloc(256);
    const r = await fh.read(buf, 0, buf.length, ptr + 0x200);
    const s = buf.subarray(0, r.bytesRead).toString('latin1');
    const nul = s.indexOf('\0');
    const v = (nul >= 0 ? s.slice(0, nul) : s).split(' ')[0];
    return v && v.length > 0 ? v : undefined;
  } finally {
    await fh.close();
  }
}

async function isModulesTree(dir: string): Promise<boolean> {
  return (await exists(join(dir, 'modules.order'))) || (await exists(join(dir, 'modules.builtin'))) || (await exists(join(dir, 'kernel')));
}

export async function resolveLocalModules(k: LocalKernel): Promise<{ dir: string; version: string }> {
  const bzVersion = await readBzImageVersion(k.bzImage).catch(() => undefined);
  let base = k.modules;
  if (await exists(join(base, 'lib', 'modules'))) base = join(base, 'lib', 'modules');
  else if (await exists(join(base, 'usr', 'lib', 'modules'))) base = join(base, 'usr', 'lib', 'modules');
  let found: { dir: string; version: string } | undefined;
  if (await isModulesTree(base)) {
    found = { dir: base, version: basename(base) };
  } else {
    const cands: string[] = [];
    for (const n of await readdir(base)) {
      const d = join(base, n);
      if ((await stat(d).catch(() => undefined))?.isDirectory() && (await isModulesTree(d))) cands.push(n);
    }
    const pick = cands.length === 1 ? cands[0] : cands.find((c) => c === bzVersion);
    if (!pick) {
      throw new KernelSpecError(k.spec, cands.length === 0
        ? `no kernel modules under ${k.modules} (expected lib/modules/<version> or <version>)`
        : `several module versions under ${base} (${cands.join(', ')}) and none matches the bzImage${bzVersion ? ` (${bzVersion})` : ''}`);
    }
    found = { dir: join(base, pick), version: pick };
  }
  if (bzVersion && bzVersion !== found.version) {
    throw new KernelSpecError(k.spec, `the bzImage is ${bzVersion} but the modules are ${found.version}`);
  }
  return found;
}
