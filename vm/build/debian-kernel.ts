// Debian's own kernels, fetched as .deb files from the host's Debian mirror with a private apt
// configuration below the build folder (the host's apt state is never read or changed, nothing is
// installed) and unpacked with dpkg-deb.
import { mkdir, readdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { exists, runLogged, safeRemove } from './build-steps.ts';
import { InfraError } from '../errors.ts';
import type { DebianRelease, KernelSpec } from './kernel-spec.ts';
import type { MirrorChoice } from './mirror.ts';

type DebianKernel = Extract<KernelSpec, { kind: 'debian' }>;
type Progress = (m: string) => void;

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

/** Downloads and unpacks the kernel packages of `k` below `tmp`: the kernel, its modules tree (in `tmp`/stage) and the package names. */
export async function fetchDebianKernel(
  k: DebianKernel, tmp: string, choice: MirrorChoice, signal: AbortSignal | undefined,
  progress: Progress,
): Promise<{ version: string; vmlinuz: string; modulesDir: string; packages: string[] }> {
  const A = await privateApt(join(tmp, 'apt'), k.release, choice);
  await aptUpdate(A, k.release, choice, signal, progress);
  const { packages, suffix } = await kernelPackages(A, k, signal);
  progress(`downloading ${packages.join(' ')}`);
  const stage = await downloadAndUnpack(A, packages, tmp, signal, progress);
  return { ...(await kernelFiles(stage, suffix, packages)), packages };
}

async function privateApt(aptDir: string, release: DebianRelease, choice: MirrorChoice): Promise<string[]> {
  for (const d of ['sources.list.d', 'preferences.d', 'state/lists/partial', 'cache/archives/partial']) {
    await mkdir(join(aptDir, d), { recursive: true });
  }
  await writeFile(join(aptDir, 'status'), '');
  await writeFile(join(aptDir, 'sources.list'), privateSourcesList(choice.uri, release, choice.keyring));
  return privateAptOptions(aptDir);
}

// apt-get update exits 0 on some failures it only warns about; those that leave no usable index fail the build here.
async function aptUpdate(A: string[], release: DebianRelease, choice: MirrorChoice, signal: AbortSignal | undefined, progress: Progress): Promise<void> {
  const mirror = choice.uri;
  progress(`apt-get update (${release} from ${mirror})`);
  const upd = await execa('apt-get', [...A, '-q', 'update'], { cancelSignal: signal, reject: false, all: true, stdin: 'ignore' });
  if (upd.exitCode !== 0 || /^(W|E): /m.test(upd.all ?? '')) {
    const bad = (upd.all ?? '').split('\n').filter((l) => /^(W|E): /.test(l)).join('\n');
    if (upd.exitCode !== 0 || /Failed to fetch|not signed|NO_PUBKEY|does not have a Release file/.test(bad)) {
      throw new InfraError(`apt-get update for ${release} from ${mirror} (${choice.reason}) failed:\n${bad || upd.all}`, {
        fix: 'check that the Debian mirror is reachable (or set NETLAB_MIRROR) and that debian-archive-keyring is current: apt-get install -y debian-archive-keyring',
      });
    }
  }
}

/** The packages of the release's current kernel of this flavour, from its meta package, and the suffix of its version. */
async function kernelPackages(A: string[], k: DebianKernel, signal?: AbortSignal): Promise<{ packages: string[]; suffix: string }> {
  const meta = k.flavour === 'cloud' ? 'linux-image-cloud-amd64' : 'linux-image-amd64';
  const suffix = k.flavour === 'cloud' ? '-cloud-amd64' : '-amd64';
  const deps = await aptDepends(A, meta, signal);
  const image = deps.find((d) => d.startsWith('linux-image-') && d.endsWith(suffix) && d !== meta);
  if (!image) throw new InfraError(`${meta} in ${k.release} names no linux-image-*${suffix} package (depends: ${deps.join(', ') || 'none'})`);
  // Newer releases split linux-image-<v> (then a meta package) into linux-binary-<v> + linux-modules-<v>.
  const imageDeps = await aptDepends(A, image, signal);
  const parts = imageDeps.filter((d) => /^linux-(binary|modules)-/.test(d) && d.endsWith(suffix));
  return { packages: [image, ...parts], suffix };
}

/** Downloads the packages and unpacks them all into `tmp`/stage, which it returns. */
async function downloadAndUnpack(A: string[], packages: string[], tmp: string, signal: AbortSignal | undefined, progress: Progress): Promise<string> {
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
  return stage;
}

/** The kernel's version, its vmlinuz and its modules tree in the unpacked packages. */
async function kernelFiles(stage: string, suffix: string, packages: string[]): Promise<{ version: string; vmlinuz: string; modulesDir: string }> {
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
  return { version, vmlinuz, modulesDir };
}

/** Package names a package depends on (alternatives and virtual packages included). */
async function aptDepends(A: string[], pkg: string, signal?: AbortSignal): Promise<string[]> {
  const r = await execa('apt-cache', [...A, 'depends', pkg], { cancelSignal: signal, reject: false, stdin: 'ignore' });
  if (r.exitCode !== 0) throw new InfraError(`apt-cache depends ${pkg} failed: ${r.stderr.trim()}`);
  return r.stdout.split('\n')
    .map((l) => /^\s*\|?(?:Pre)?Depends:\s+<?([^\s>]+)>?/.exec(l)?.[1])
    .filter((x): x is string => x !== undefined);
}
