// The kernel cache: <cacheRoot()>/kernels/<spec-slug>/<version>/{vmlinuz|vmlinux,initrd.img,modules.img,manifest.json}.
// The manifest, written last, records the spec → version resolution, so a cached lookup reads a
// folder listing and a small JSON file and never touches the network.
import { readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { exists, guestFile, publishDir, writeFileAtomic } from './build-steps.ts';
import { recipeHash } from './cache.ts';
import { INITRD_TARGETS } from './initramfs.ts';
import type { LocalSource } from './local-kernel.ts';
import type { KernelInfo } from '../types.ts';

/** Bump when the build steps change in a way the other recipe parts do not show. */
export const KERNEL_FORMAT = 'netlab-kernel-v4';

export interface KernelManifest {
  format: string;
  recipe: string;
  spec: string;
  version: string;
  /** `vmlinuz` (the bzImage as shipped) or `vmlinux` (decompressed ELF, booted through its PVH entry). */
  kernelFile: string;
  /** Debian packages the files came from (empty for local kernels). */
  packages: string[];
  mirror?: string;
  /** Local kernels: what the build saw, to notice a rebuilt kernel. */
  source?: LocalSource;
  initrdModules: string[];
  createdAt: string;
  fetchMs: number;
}

/** What a kernel build's output depends on besides its spec and version: cached builds with another recipe are rebuilt. */
export function kernelRecipe(): string {
  return recipeHash(KERNEL_FORMAT, INITRD_TARGETS, readFileSync(guestFile('initramfs-init'), 'utf8'));
}

export async function readManifest(dir: string): Promise<KernelManifest | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as KernelManifest;
  } catch {
    return undefined;
  }
}

function manifestMatches(m: KernelManifest, recipe: string, spec: string, source?: LocalSource): boolean {
  if (m.format !== KERNEL_FORMAT || m.recipe !== recipe || m.spec !== spec) return false;
  if (source) return JSON.stringify(m.source) === JSON.stringify(source);
  return true;
}

export function infoFrom(dir: string, m: KernelManifest): KernelInfo {
  return {
    name: m.spec,
    version: m.version,
    kernel: join(dir, m.kernelFile),
    initrd: join(dir, 'initrd.img'),
    modulesDisk: join(dir, 'modules.img'),
  };
}

/** The newest complete, current build for this spec, or undefined. Reads only local files. */
export async function findCached(slugDir: string, recipe: string, spec: string, source?: LocalSource): Promise<KernelInfo | undefined> {
  let names: string[];
  try { names = await readdir(slugDir); } catch { return undefined; }
  let best: { dir: string; m: KernelManifest } | undefined;
  for (const n of names) {
    if (n.includes('.tmp-') || n.includes('.old-')) continue;
    const m = await readManifest(join(slugDir, n));
    if (!m || !manifestMatches(m, recipe, spec, source)) continue;
    if (!best || m.createdAt > best.m.createdAt) best = { dir: join(slugDir, n), m };
  }
  return best ? infoFrom(best.dir, best.m) : undefined;
}

/**
 * Writes the manifest into the complete build folder `out` and renames it to `final`. An outdated
 * build of the same version (other recipe or local source) is replaced. Returns false when another
 * process published a current one first.
 */
export async function publishKernel(out: string, final: string, manifest: KernelManifest): Promise<boolean> {
  await writeFileAtomic(join(out, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  const existing = await readManifest(final);
  const stale = existing !== undefined && !manifestMatches(existing, manifest.recipe, manifest.spec, manifest.source);
  return publishDir(out, final, { replace: stale || (existing === undefined && (await exists(final))) });
}
