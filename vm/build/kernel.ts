// Guest kernels: Debian's own kernels fetched as .deb files from the host's Debian mirror with a
// private apt configuration (never installed on the host), or a given bzImage + modules tree. Each
// becomes three files the QEMU command line uses as they are:
//   vmlinux      the kernel decompressed from the bzImage (an ELF), which QEMU boots through its
//                PVH entry point: the bzImage's own decompressor runs on the emulated CPU and costs
//                ~3 s per boot for xz (Debian's generic flavour), ~0.3 s for lz4 (cloud); or
//   vmlinuz      the bzImage as shipped, when it cannot be unpacked or has no PVH entry
//   initrd.img   a 1–2 MB busybox initramfs (guest-files/initramfs-init as /init) holding only the modules
//                needed to reach the root disk (virtio_pci, virtio_blk, ext4 + their dependencies,
//                whatever of those the kernel does not have built in), decompressed to plain .ko
//   modules.img  read-only ext4 (label kmods) whose top level is <version>/..., mounted by the guest
//                on /usr/lib/modules; depmod has been run (the .debs carry no modules.dep)
//
// Cache layout: <cacheRoot()>/kernels/<spec-slug>/<version>/{vmlinuz|vmlinux,initrd.img,modules.img,manifest.json}
// The manifest, written last, records the spec → version resolution, so a cached lookup reads a
// folder listing and a small JSON file and never touches the network. Builds run in a unique
// `build.tmp-<pid>-<rand>` folder (apt state included) and are renamed into place when complete.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { chmod, copyFile, lstat, mkdir, open, readdir, readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { execa } from 'execa';
import { cacheRoot, recipeHash } from './cache.ts';
import { InfraError } from '../errors.ts';
import type { EventSink } from '../events.ts';
import { findTool, requireTools } from './host-tools.ts';
import { chooseMirror, type MirrorChoice } from './mirror.ts';
import { guestFile, publishDir, removeStaleBuilds, runLogged, safeRemove, writeFileAtomic } from './image.ts';
import type { KernelInfo } from '../types.ts';

/** Bump when the build steps change in a way the other recipe parts do not show. */
const KERNEL_FORMAT = 'netlab-kernel-v4';

/**
 * Debian releases a `debian:` spec may name. Not bookworm-backports: its 6.12.95 cloud kernel hit
 * double faults in cmpxchg16b (slub) in 4 of 7 TCG boots here, while trixie's 6.12.117 boots cleanly.
 */
export const DEBIAN_RELEASES = ['bullseye', 'bookworm', 'trixie', 'sid'] as const;
export type DebianRelease = (typeof DEBIAN_RELEASES)[number];
export type Flavour = 'cloud' | 'generic';

/** What the initramfs loads when they are modules (dependencies come from modules.dep). */
const INITRD_TARGETS = ['virtio_pci', 'virtio_blk', 'crc32c_generic', 'ext4'] as const;

export const KERNEL_SPEC_FORMS = [
  'debian:<release>            Debian cloud kernel (-cloud-amd64), release one of ' + DEBIAN_RELEASES.join(', '),
  'debian:<release>:generic    Debian generic kernel (-amd64); debian:<release>:cloud is the default',
  'local:<bzImage>:<modules>   your own kernel; <modules> holds lib/modules/<version> or <version>',
];

/** A kernel spec that names nothing we can fetch. The runner maps it to exit 2 (usage error). */
export class KernelSpecError extends Error {
  override name = 'KernelSpecError';
  constructor(spec: string, why: string) {
    super(`invalid kernel '${spec}': ${why}. Valid forms:\n  ${KERNEL_SPEC_FORMS.join('\n  ')}`);
  }
}

export type KernelSpec =
  | { kind: 'debian'; spec: string; release: DebianRelease; flavour: Flavour; slug: string }
  | { kind: 'local'; spec: string; bzImage: string; modules: string; slug: string };

export function parseKernelSpec(spec: string): KernelSpec {
  const s = spec.trim();
  if (s.startsWith('debian:')) {
    const parts = s.slice('debian:'.length).split(':');
    const release = parts[0] ?? '';
    if (!(DEBIAN_RELEASES as readonly string[]).includes(release)) {
      throw new KernelSpecError(spec, `unknown Debian release '${release}'`);
    }
    if (parts.length > 2) throw new KernelSpecError(spec, 'too many fields');
    const flavour = parts[1] ?? 'cloud';
    if (flavour !== 'cloud' && flavour !== 'generic') {
      throw new KernelSpecError(spec, `unknown flavour '${flavour}' (cloud or generic)`);
    }
    return { kind: 'debian', spec: s, release: release as DebianRelease, flavour, slug: `debian-${release}-${flavour}` };
  }
  if (s.startsWith('local:')) {
    const rest = s.slice('local:'.length);
    const cut = rest.lastIndexOf(':');
    if (cut <= 0 || cut === rest.length - 1) throw new KernelSpecError(spec, 'local: needs a bzImage path and a modules folder');
    const bzImage = resolve(rest.slice(0, cut));
    const modules = resolve(rest.slice(cut + 1));
    return { kind: 'local', spec: s, bzImage, modules, slug: `local-${recipeHash(bzImage, modules)}` };
  }
  throw new KernelSpecError(spec, 'unknown kind');
}

interface KernelManifest {
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
  source?: { bzImage: string; bzImageMtimeMs: number; bzImageSize: number; modules: string; modulesMtimeMs: number };
  initrdModules: string[];
  createdAt: string;
  fetchMs: number;
}

function kernelRecipe(): string {
  return recipeHash(KERNEL_FORMAT, INITRD_TARGETS, readFileSync(guestFile('initramfs-init'), 'utf8'));
}

export interface EnsureKernelOptions {
  onEvent?: EventSink;
  signal?: AbortSignal;
  /** Debian specs: resolve the newest version again (network) even when one is cached. */
  refresh?: boolean;
}

export async function ensureKernel(spec: string, opts: EnsureKernelOptions = {}): Promise<KernelInfo> {
  const parsed = parseKernelSpec(spec);
  const emit = opts.onEvent ?? (() => {});
  const slugDir = join(cacheRoot(), 'kernels', parsed.slug);
  const recipe = kernelRecipe();

  let source: KernelManifest['source'];
  if (parsed.kind === 'local') source = await localSource(parsed);
  if (!opts.refresh || parsed.kind === 'local') {
    const cached = await findCached(slugDir, recipe, parsed.spec, source);
    if (cached) return cached;
  }

  requireTools(['dpkg-deb', 'depmod', 'mkfs.ext4', 'cpio', 'gzip', 'busybox', 'xz', 'zstd',
    ...(parsed.kind === 'debian' ? ['apt-get', 'apt-cache'] : [])]);
  const busybox = await staticBusybox();
  await mkdir(slugDir, { recursive: true });
  await removeStaleBuilds(slugDir);
  const started = Date.now();
  const progress = (message: string) => emit({ type: 'kernel-fetch', kernel: parsed.spec, phase: 'progress', message });
  emit({ type: 'kernel-fetch', kernel: parsed.spec, phase: 'start', message: `preparing kernel ${parsed.spec}` });

  const tmp = join(slugDir, `build.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  const out = join(tmp, 'out');
  const modRoot = join(tmp, 'mods');
  await mkdir(out, { recursive: true });
  try {
    let version: string;
    let packages: string[] = [];
    let mirror: string | undefined;
    let kernelFile = 'vmlinuz';
    if (parsed.kind === 'debian') {
      const choice = await chooseMirror();
      mirror = choice.uri;
      emit({ type: 'mirror', uri: choice.uri, origin: choice.origin, reason: choice.reason, keyring: choice.keyring });
      const got = await fetchDebianKernel(parsed, tmp, choice, opts.signal, progress);
      version = got.version;
      packages = got.packages;
      kernelFile = await installKernel(got.vmlinuz, out, progress, opts.signal);
      await mkdir(join(modRoot, 'lib', 'modules'), { recursive: true });
      await rename(got.modulesDir, join(modRoot, 'lib', 'modules', version));
      await safeRemove(join(tmp, 'stage'));
    } else {
      const local = await resolveLocalModules(parsed);
      version = local.version;
      progress(`copying ${local.dir} (${version})`);
      kernelFile = await installKernel(parsed.bzImage, out, progress, opts.signal);
      await mkdir(join(modRoot, 'lib', 'modules'), { recursive: true });
      await execa('cp', ['-a', local.dir, join(modRoot, 'lib', 'modules', version)], { cancelSignal: opts.signal });
    }
    const modDir = join(modRoot, 'lib', 'modules', version);
    for (const l of ['build', 'source']) await rm(join(modDir, l), { force: true, recursive: true });

    progress(`depmod ${version}`);
    await runLogged('depmod', ['-b', modRoot, version], { signal: opts.signal });

    progress('building the initramfs');
    const initrdModules = await buildInitramfs(modDir, join(tmp, 'initramfs'), join(out, 'initrd.img'), busybox, opts.signal);

    progress('building the modules disk');
    const bytes = Number((await execa('du', ['-sb', modDir])).stdout.split(/\s/)[0]);
    const sizeMb = Math.ceil((bytes * 1.3) / 2 ** 20) + 32;
    await runLogged('mkfs.ext4', ['-q', '-F', '-L', 'kmods', '-m', '0', '-d', join(modRoot, 'lib', 'modules'), join(out, 'modules.img'), `${sizeMb}M`], { signal: opts.signal });
    await safeRemove(modRoot);
    for (const f of [kernelFile, 'initrd.img', 'modules.img']) await chmod(join(out, f), 0o444);

    const manifest: KernelManifest = {
      format: KERNEL_FORMAT, recipe, spec: parsed.spec, version, kernelFile, packages, mirror, source, initrdModules,
      createdAt: new Date().toISOString(), fetchMs: Date.now() - started,
    };
    await writeFileAtomic(join(out, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
    const final = join(slugDir, version);
    // An outdated build of the same version (other recipe or local source) is replaced.
    const existing = await readManifest(final);
    const stale = existing !== undefined && !manifestMatches(existing, recipe, parsed.spec, source);
    const won = await publishDir(out, final, { replace: stale || (existing === undefined && (await exists(final))) });
    await safeRemove(tmp);
    const info = infoFrom(final, await readManifest(final) ?? manifest);
    emit({
      type: 'kernel-fetch', kernel: parsed.spec, phase: 'done', ms: Date.now() - started,
      message: won ? `kernel ${parsed.spec} → ${version} ready` : `kernel ${version} is already in the cache (an earlier or concurrent build); using it`,
    });
    return info;
  } catch (err) {
    await safeRemove(tmp).catch(() => {});
    if (opts.signal?.aborted) throw opts.signal.reason ?? err;
    if (err instanceof InfraError || err instanceof KernelSpecError) throw err;
    throw new InfraError(`kernel ${parsed.spec} failed: ${(err as Error).message}`, { cause: err });
  }
}

async function exists(p: string): Promise<boolean> {
  try { await lstat(p); return true; } catch { return false; }
}

async function readManifest(dir: string): Promise<KernelManifest | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as KernelManifest;
  } catch {
    return undefined;
  }
}

function manifestMatches(m: KernelManifest, recipe: string, spec: string, source?: KernelManifest['source']): boolean {
  if (m.format !== KERNEL_FORMAT || m.recipe !== recipe || m.spec !== spec) return false;
  if (source) return JSON.stringify(m.source) === JSON.stringify(source);
  return true;
}

function infoFrom(dir: string, m: KernelManifest): KernelInfo {
  return {
    name: m.spec,
    version: m.version,
    kernel: join(dir, m.kernelFile),
    initrd: join(dir, 'initrd.img'),
    modulesDisk: join(dir, 'modules.img'),
  };
}

/** The newest complete, current build for this spec, or undefined. Reads only local files. */
async function findCached(slugDir: string, recipe: string, spec: string, source?: KernelManifest['source']): Promise<KernelInfo | undefined> {
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

// ---------------------------------------------------------------------------------------------
// Debian: private apt configuration, resolve, download, unpack.

/** apt-get/apt-cache options that use only the files below `aptDir`, never the host's apt state. */
export function privateAptOptions(aptDir: string): string[] {
  const o = (k: string, v: string) => ['-o', `${k}=${v}`];
  return [
    ...o('Dir::Etc::SourceList', join(aptDir, 'sources.list')),
    ...o('Dir::Etc::SourceParts', join(aptDir, 'sources.list.d')),
    ...o('Dir::Etc::Preferences', join(aptDir, 'preferences')),
    ...o('Dir::Etc::PreferencesParts', join(aptDir, 'preferences.d')),
    ...o('Dir::State', join(aptDir, 'state')),
    ...o('Dir::State::Lists', join(aptDir, 'state', 'lists')),
    ...o('Dir::State::status', join(aptDir, 'status')),
    ...o('Dir::Cache', join(aptDir, 'cache')),
    ...o('Debug::NoLocking', '1'),
    ...o('APT::Architecture', 'amd64'),
    ...o('APT::Architectures::', 'amd64'),
    ...o('Acquire::Languages', 'none'),
    ...o('APT::Sandbox::User', 'root'),
    ...o('Acquire::IndexTargets::deb::Contents-deb::DefaultEnabled', 'false'),
  ];
}

/** The private sources.list for one release (only that suite, so apt's candidate is that release's). */
export function privateSourcesList(mirror: string, release: DebianRelease, keyring?: string): string {
  const opts = keyring ? ` [signed-by=${keyring}]` : '';
  return `deb${opts} ${mirror} ${release} main\n`;
}

async function fetchDebianKernel(
  k: Extract<KernelSpec, { kind: 'debian' }>, tmp: string, choice: MirrorChoice, signal: AbortSignal | undefined,
  progress: (m: string) => void,
): Promise<{ version: string; vmlinuz: string; modulesDir: string; packages: string[] }> {
  const aptDir = join(tmp, 'apt');
  for (const d of ['sources.list.d', 'preferences.d', 'state/lists/partial', 'cache/archives/partial']) {
    await mkdir(join(aptDir, d), { recursive: true });
  }
  await writeFile(join(aptDir, 'status'), '');
  const mirror = choice.uri;
  await writeFile(join(aptDir, 'sources.list'), privateSourcesList(mirror, k.release, choice.keyring));
  const A = privateAptOptions(aptDir);

  progress(`apt-get update (${k.release} from ${mirror})`);
  const upd = await execa('apt-get', [...A, '-q', 'update'], { cancelSignal: signal, reject: false, all: true, stdin: 'ignore' });
  if (upd.exitCode !== 0 || /^(W|E): /m.test(upd.all ?? '')) {
    const bad = (upd.all ?? '').split('\n').filter((l) => /^(W|E): /.test(l)).join('\n');
    if (upd.exitCode !== 0 || /Failed to fetch|not signed|NO_PUBKEY|does not have a Release file/.test(bad)) {
      throw new InfraError(`apt-get update for ${k.release} from ${mirror} (${choice.reason}) failed:\n${bad || upd.all}`, {
        fix: 'check that the Debian mirror is reachable (or set NETLAB_MIRROR) and that debian-archive-keyring is current: apt-get install -y debian-archive-keyring',
      });
    }
  }

  const meta = k.flavour === 'cloud' ? 'linux-image-cloud-amd64' : 'linux-image-amd64';
  const suffix = k.flavour === 'cloud' ? '-cloud-amd64' : '-amd64';
  const deps = await aptDepends(A, meta, signal);
  const image = deps.find((d) => d.startsWith('linux-image-') && d.endsWith(suffix) && d !== meta);
  if (!image) throw new InfraError(`${meta} in ${k.release} names no linux-image-*${suffix} package (depends: ${deps.join(', ') || 'none'})`);
  // Newer releases split linux-image-<v> (then a meta package) into linux-binary-<v> + linux-modules-<v>.
  const imageDeps = await aptDepends(A, image, signal);
  const parts = imageDeps.filter((d) => /^linux-(binary|modules)-/.test(d) && d.endsWith(suffix));
  const packages = [image, ...parts];
  progress(`downloading ${packages.join(' ')}`);
  const debs = join(tmp, 'debs');
  await mkdir(debs);
  await runLogged('apt-get', [...A, '-q', 'download', ...packages], { cwd: debs, signal });

  const stage = join(tmp, 'stage');
  await mkdir(stage);
  for (const f of (await readdir(debs)).filter((f) => f.endsWith('.deb'))) {
    progress(`unpacking ${f}`);
    await runLogged('dpkg-deb', ['-x', join(debs, f), stage], { signal });
  }
  await safeRemove(debs);

  // /boot/vmlinuz-<version> up to trixie; /usr/lib/modules/<version>/vmlinuz in the split packages.
  let version: string | undefined;
  let vmlinuz: string | undefined;
  const bootFiles = await readdir(join(stage, 'boot')).catch(() => [] as string[]);
  const vm = bootFiles.find((f) => f.startsWith('vmlinuz-') && f.endsWith(suffix));
  if (vm) {
    version = vm.slice('vmlinuz-'.length);
    vmlinuz = join(stage, 'boot', vm);
  } else {
    for (const base of [join(stage, 'usr', 'lib', 'modules'), join(stage, 'lib', 'modules')]) {
      for (const v of await readdir(base).catch(() => [] as string[])) {
        if (v.endsWith(suffix) && (await exists(join(base, v, 'vmlinuz')))) {
          version = v;
          // Out of the modules tree: the modules disk does not need a second copy of the kernel.
          vmlinuz = join(stage, `vmlinuz-${v}`);
          await rename(join(base, v, 'vmlinuz'), vmlinuz);
        }
      }
    }
  }
  if (!version || !vmlinuz) throw new InfraError(`no vmlinuz (/boot/vmlinuz-*${suffix} or /usr/lib/modules/*${suffix}/vmlinuz) in ${packages.join(', ')}`);
  let modulesDir: string | undefined;
  for (const cand of [join(stage, 'usr', 'lib', 'modules', version), join(stage, 'lib', 'modules', version)]) {
    if (await exists(cand)) { modulesDir = cand; break; }
  }
  if (!modulesDir) throw new InfraError(`no lib/modules/${version} in ${packages.join(', ')}`);
  return { version, vmlinuz, modulesDir, packages };
}

/** Package names a package depends on (alternatives and virtual packages included). */
async function aptDepends(A: string[], pkg: string, signal?: AbortSignal): Promise<string[]> {
  const r = await execa('apt-cache', [...A, 'depends', pkg], { cancelSignal: signal, reject: false, stdin: 'ignore' });
  if (r.exitCode !== 0) throw new InfraError(`apt-cache depends ${pkg} failed: ${r.stderr.trim()}`);
  return r.stdout.split('\n')
    .map((l) => /^\s*\|?(?:Pre)?Depends:\s+<?([^\s>]+)>?/.exec(l)?.[1])
    .filter((x): x is string => x !== undefined);
}

// ---------------------------------------------------------------------------------------------
// Local kernels.

async function localSource(k: Extract<KernelSpec, { kind: 'local' }>): Promise<KernelManifest['source']> {
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

async function resolveLocalModules(k: Extract<KernelSpec, { kind: 'local' }>): Promise<{ dir: string; version: string }> {
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

// ---------------------------------------------------------------------------------------------
// The kernel file: as shipped, or decompressed when the bzImage's own decompressor is slow.

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
async function installKernel(src: string, out: string, progress: (m: string) => void, signal?: AbortSignal): Promise<string> {
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

// ---------------------------------------------------------------------------------------------
// The initramfs.

/** Host busybox, which must be static (the initramfs has no libc). */
async function staticBusybox(): Promise<string> {
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

async function buildInitramfs(modDir: string, stage: string, outFile: string, busybox: string, signal?: AbortSignal): Promise<string[]> {
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
