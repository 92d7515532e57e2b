// Guest kernels: Debian's own kernels fetched as .deb files from the host's Debian mirror with a
// private apt configuration (never installed on the host; debian-kernel.ts), or a given bzImage +
// modules tree (local-kernel.ts). Each becomes three files the QEMU command line uses as they are:
//   vmlinux      the kernel decompressed from the bzImage (an ELF), which QEMU boots through its
//                PVH entry point: the bzImage's own decompressor runs on the emulated CPU and costs
//                ~3 s per boot for xz (Debian's generic flavour), ~0.3 s for lz4 (cloud); or
//   vmlinuz      the bzImage as shipped, when it cannot be unpacked or has no PVH entry (kernel-file.ts)
//   initrd.img   a 1–2 MB busybox initramfs (guest-files/initramfs-init as /init) holding only the modules
//                needed to reach the root disk (virtio_pci, virtio_blk, ext4 + their dependencies,
//                whatever of those the kernel does not have built in), decompressed to plain .ko (initramfs.ts)
//   modules.img  read-only ext4 (label kmods) whose top level is <version>/..., mounted by the guest
//                on /usr/lib/modules; depmod has been run (the .debs carry no modules.dep)
//
// Cached by spec and version with a manifest (kernel-cache.ts). Builds run in a unique
// `build.tmp-<pid>-<rand>` folder (apt state included) and are renamed into place when complete.
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { removeStaleBuilds, runLogged, safeRemove } from './build-steps.ts';
import { cacheRoot } from './cache.ts';
import { fetchDebianKernel } from './debian-kernel.ts';
import { InfraError } from '../errors.ts';
import type { EventSink } from '../events.ts';
import { requireTools } from './host-tools.ts';
import { buildInitramfs, staticBusybox } from './initramfs.ts';
import { findCached, infoFrom, KERNEL_FORMAT, kernelRecipe, publishKernel, readManifest, type KernelManifest } from './kernel-cache.ts';
import { installKernel } from './kernel-file.ts';
import { KernelSpecError, parseKernelSpec, type KernelSpec } from './kernel-spec.ts';
import { localSource, resolveLocalModules, type LocalSource } from './local-kernel.ts';
import { chooseMirror } from './mirror.ts';
import type { KernelInfo } from '../types.ts';

export interface EnsureKernelOptions {
  onEvent?: EventSink;
  signal?: AbortSignal;
  /** Debian specs: resolve the newest version again (network) even when one is cached. */
  refresh?: boolean;
}

export async function ensureKernel(spec: string, opts: EnsureKernelOptions = {}): Promise<KernelInfo> {
  const parsed = parseKernelSpec(spec);
  const slugDir = join(cacheRoot(), 'kernels', parsed.slug);
  const recipe = kernelRecipe();

  let source: LocalSource | undefined;
  if (parsed.kind === 'local') source = await localSource(parsed);
  if (!opts.refresh || parsed.kind === 'local') {
    const cached = await findCached(slugDir, recipe, parsed.spec, source);
    if (cached) return cached;
  }
  return buildKernel(parsed, slugDir, recipe, source, opts);
}

/** What one build works with: its folders, the host's busybox, and where it reports. */
interface Build {
  tmp: string;
  /** The folder that becomes the cached kernel: the three files and the manifest. */
  out: string;
  /** A root holding lib/modules/<version>, the modules disk's content. */
  modRoot: string;
  busybox: string;
  emit: EventSink;
  progress: (message: string) => void;
  signal?: AbortSignal;
}

async function buildKernel(parsed: KernelSpec, slugDir: string, recipe: string, source: LocalSource | undefined, opts: EnsureKernelOptions): Promise<KernelInfo> {
  const emit = opts.onEvent ?? (() => {});
  requireTools(['dpkg-deb', 'depmod', 'mkfs.ext4', 'cpio', 'gzip', 'busybox', 'xz', 'zstd',
    ...(parsed.kind === 'debian' ? ['apt-get', 'apt-cache'] : [])]);
  const busybox = await staticBusybox();
  await mkdir(slugDir, { recursive: true });
  await removeStaleBuilds(slugDir);
  const started = Date.now();
  const progress = (message: string) => emit({ type: 'kernel-fetch', kernel: parsed.spec, phase: 'progress', message });
  emit({ type: 'kernel-fetch', kernel: parsed.spec, phase: 'start', message: `preparing kernel ${parsed.spec}` });

  const tmp = join(slugDir, `build.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  const b: Build = { tmp, out: join(tmp, 'out'), modRoot: join(tmp, 'mods'), busybox, emit, progress, signal: opts.signal };
  await mkdir(b.out, { recursive: true });
  try {
    const files = await buildFiles(parsed, b);
    const manifest: KernelManifest = {
      format: KERNEL_FORMAT, recipe, spec: parsed.spec, version: files.version, kernelFile: files.kernelFile, packages: files.packages,
      mirror: files.mirror, source, initrdModules: files.initrdModules, createdAt: new Date().toISOString(), fetchMs: Date.now() - started,
    };
    const final = join(slugDir, files.version);
    const won = await publishKernel(b.out, final, manifest);
    await safeRemove(tmp);
    const info = infoFrom(final, await readManifest(final) ?? manifest);
    emit({
      type: 'kernel-fetch', kernel: parsed.spec, phase: 'done', ms: Date.now() - started,
      message: won ? `kernel ${parsed.spec} → ${files.version} ready` : `kernel ${files.version} is already in the cache (an earlier or concurrent build); using it`,
    });
    return info;
  } catch (err) {
    await safeRemove(tmp).catch(() => {});
    if (opts.signal?.aborted) throw opts.signal.reason ?? err;
    if (err instanceof InfraError || err instanceof KernelSpecError) throw err;
    throw new InfraError(`kernel ${parsed.spec} failed: ${(err as Error).message}`, { cause: err });
  }
}

type Staged = Pick<KernelManifest, 'version' | 'kernelFile' | 'packages' | 'mirror'>;

/** Makes the kernel's three files in `b.out`, read-only; returns what the manifest says of them. */
async function buildFiles(parsed: KernelSpec, b: Build): Promise<Staged & Pick<KernelManifest, 'initrdModules'>> {
  const staged = parsed.kind === 'debian' ? await stageDebian(parsed, b) : await stageLocal(parsed, b);
  const { version } = staged;
  const modDir = join(b.modRoot, 'lib', 'modules', version);
  for (const l of ['build', 'source']) await rm(join(modDir, l), { force: true, recursive: true });

  b.progress(`depmod ${version}`);
  await runLogged('depmod', ['-b', b.modRoot, version], { signal: b.signal });

  b.progress('building the initramfs');
  const initrdModules = await buildInitramfs(modDir, join(b.tmp, 'initramfs'), join(b.out, 'initrd.img'), b.busybox, b.signal);

  b.progress('building the modules disk');
  await buildModulesDisk(b.modRoot, modDir, join(b.out, 'modules.img'), b.signal);
  await safeRemove(b.modRoot);
  for (const f of [staged.kernelFile, 'initrd.img', 'modules.img']) await chmod(join(b.out, f), 0o444);
  return { ...staged, initrdModules };
}

// The kernel file goes to `out`, the modules tree to `modRoot`: from the packages of the mirror chosen now.
async function stageDebian(k: Extract<KernelSpec, { kind: 'debian' }>, b: Build): Promise<Staged> {
  const choice = await chooseMirror();
  b.emit({ type: 'mirror', uri: choice.uri, origin: choice.origin, reason: choice.reason, keyring: choice.keyring });
  const got = await fetchDebianKernel(k, b.tmp, choice, b.signal, b.progress);
  const kernelFile = await installKernel(got.vmlinuz, b.out, b.progress, b.signal);
  await mkdir(join(b.modRoot, 'lib', 'modules'), { recursive: true });
  await rename(got.modulesDir, join(b.modRoot, 'lib', 'modules', got.version));
  await safeRemove(join(b.tmp, 'stage'));
  return { version: got.version, kernelFile, packages: got.packages, mirror: choice.uri };
}

// The same from the user's files, copied: the build must not change them.
async function stageLocal(k: Extract<KernelSpec, { kind: 'local' }>, b: Build): Promise<Staged> {
  const local = await resolveLocalModules(k);
  b.progress(`copying ${local.dir} (${local.version})`);
  const kernelFile = await installKernel(k.bzImage, b.out, b.progress, b.signal);
  await mkdir(join(b.modRoot, 'lib', 'modules'), { recursive: true });
  await execa('cp', ['-a', local.dir, join(b.modRoot, 'lib', 'modules', local.version)], { cancelSignal: b.signal });
  return { version: local.version, kernelFile, packages: [], mirror: undefined };
}

/** The modules disk: an ext4 image of `modRoot`/lib/modules, sized from what it holds. */
async function buildModulesDisk(modRoot: string, modDir: string, file: string, signal?: AbortSignal): Promise<void> {
  const bytes = Number((await execa('du', ['-sb', modDir])).stdout.split(/\s/)[0]);
  const sizeMb = Math.ceil((bytes * 1.3) / 2 ** 20) + 32;
  await runLogged('mkfs.ext4', ['-q', '-F', '-L', 'kmods', '-m', '0', '-d', join(modRoot, 'lib', 'modules'), file, `${sizeMb}M`], { signal });
}
