// The guest root filesystem: a trimmed Debian (mmdebstrap minbase + the lab tools, no systemd) turned
// into a read-only raw ext4 image without loop mounts, with our PID 1 (guest-files/netlab-init), an SSH
// server (dropbear, started by netlab-init), a host key and a client key baked in. Cached by the hash of its recipe.
//
// Cache layout: <cacheRoot()>/images/<recipeHash>/
//   rootfs.img      raw ext4 (label root), mode 0444: VMs only ever run on qcow2 overlays over it
//   id_ed25519      private key that logs in as root (0600), id_ed25519.pub beside it
//   ssh_host_ed25519_key.pub   the guest's host key (also in the manifest)
//   manifest.json   written last: its presence means the image is complete
// A build runs in a unique `<hash>.tmp-<pid>-<rand>` folder beside and is renamed into place when
// complete, so a killed build never looks valid and two concurrent builds cannot corrupt each other
// (the loser of the rename discards its copy and uses the winner's).
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { chmod, lstat, mkdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { guestFile, publishDir, removeStaleBuilds, runLogged, safeRemove, writeFileAtomic } from './build-steps.ts';
import { cacheRoot, recipeHash } from './cache.ts';
import { InfraError, PackageNotFoundError } from '../errors.ts';
import type { EventSink } from '../events.ts';
import { requireTools } from './host-tools.ts';
import { chooseMirror, mmdebstrapSource, type MirrorChoice } from './mirror.ts';
import type { ImageInfo } from '../types.ts';

/** Bump when the build steps change in a way the other recipe parts do not show. */
const IMAGE_FORMAT = 'netlab-image-v4';
export const IMAGE_SUITE = 'bookworm';
/** Sparse: the file takes the space of what is written, the guest sees this much room. */
const IMAGE_SIZE = '1536M';

/** The lab tools. `python3 -m http.server` needs the standard library, not just python3-minimal. */
export const DEFAULT_PACKAGES: readonly string[] = [
  'arping', 'bridge-utils', 'busybox', 'curl', 'etcd-client', 'etcd-server', 'ethtool', 'iproute2',
  'iptables', 'iputils-ping', 'iputils-tracepath', 'kmod', 'libpython3-stdlib', 'net-tools', 'nftables',
  'procps', 'python3-minimal', 'tcpdump',
];

/**
 * What the boot contract itself needs, always included: netlab-init uses ip and modprobe; root's shell;
 * the SSH server (dropbear) and the SFTP server it runs for file transfers (OpenSSH's, /usr/lib/sftp-server);
 * the grading agent (python3, vm/build/guest-files/netlab-agent).
 */
const REQUIRED_PACKAGES: readonly string[] = ['bash-static', 'dropbear-bin', 'iproute2', 'kmod', 'libpython3-stdlib', 'openssh-sftp-server', 'python3-minimal'];
/** The grading agent and the script that builds its trusted context, installed in /usr/lib/netlab. */
const TRUSTED_FILES = ['netlab-trusted', 'netlab-agent'] as const;
/** The grader's dmesg (kernel messages only), first on the agent's PATH as /usr/lib/netlab/bin/dmesg. */
const TRUSTED_DMESG = 'netlab-dmesg';
/** Where netlab-init's dropbear reads its host key (dropbear's own key format). */
const DROPBEAR_HOST_KEY = '/etc/dropbear/dropbear_ed25519_host_key';

/**
 * root's login shell, so the shell the SSH server starts for every command: Debian's statically linked bash (same
 * version as /bin/bash). Under TCG it starts in 13 ms against 52 ms for the dynamic one (no ld.so and
 * relocations to emulate), and every exec starts one. Scripts that run `bash` get /bin/bash as before.
 */
export const ROOT_SHELL = '/bin/bash-static';

/** dpkg path filters: no documentation, manual pages or translations in the guest. */
const TRIM_DPKG_OPTS: readonly string[] = [
  'path-exclude=/usr/share/man/*',
  'path-exclude=/usr/share/doc/*',
  'path-include=/usr/share/doc/*/copyright',
  'path-exclude=/usr/share/info/*',
  'path-exclude=/usr/share/locale/*',
  'path-exclude=/usr/share/i18n/*',
  'path-exclude=/usr/share/lintian/*',
  'path-exclude=/usr/share/linda/*',
];

export const RESOLV_CONF = '# netlab guests have no DNS server: lookups fail at once\nnameserver 127.0.0.1\noptions timeout:1 attempts:1\n';

/** The package list actually installed for a requested list: required ones added, sorted, unique. */
export function normalizePackages(packages: readonly string[] = DEFAULT_PACKAGES): string[] {
  return [...new Set([...REQUIRED_PACKAGES, ...packages].map((p) => p.trim()).filter((p) => p.length > 0))].sort();
}

/** The cache key of an image: packages, suite, guest files and the build format. */
export function imageRecipeHash(packages: readonly string[] = DEFAULT_PACKAGES): string {
  return recipeHash(
    IMAGE_FORMAT,
    IMAGE_SUITE,
    IMAGE_SIZE,
    normalizePackages(packages),
    TRIM_DPKG_OPTS,
    readFileSync(guestFile('netlab-init'), 'utf8'),
    ...TRUSTED_FILES.map((f) => readFileSync(guestFile(f), 'utf8')),
    readFileSync(guestFile(TRUSTED_DMESG), 'utf8'),
    RESOLV_CONF,
  );
}

interface ImageManifest {
  format: string;
  recipeHash: string;
  suite: string;
  packages: string[];
  mirror: string;
  hostPublicKey: string;
  createdAt: string;
  buildMs: number;
}

export interface EnsureImageOptions {
  onEvent?: EventSink;
  signal?: AbortSignal;
  /** Replaces DEFAULT_PACKAGES (REQUIRED_PACKAGES are always added). */
  packages?: string[];
}

export async function ensureImage(opts: EnsureImageOptions = {}): Promise<ImageInfo> {
  const emit = opts.onEvent ?? (() => {});
  const packages = normalizePackages(opts.packages ?? DEFAULT_PACKAGES);
  const hash = imageRecipeHash(packages);
  const imagesDir = join(cacheRoot(), 'images');
  const dir = join(imagesDir, hash);

  const cached = await readImage(dir);
  if (cached) return cached;

  requireBuildHost();
  const choice = await chooseMirror();
  const mirror = choice.uri;
  emit({ type: 'mirror', uri: choice.uri, origin: choice.origin, reason: choice.reason, keyring: choice.keyring });
  await mkdir(imagesDir, { recursive: true });
  await removeStaleBuilds(imagesDir);

  const started = Date.now();
  emit({ type: 'image-build', phase: 'start', message: `building image ${hash} (${IMAGE_SUITE}, ${packages.length} packages) from ${mirror}` });
  const tmp = join(imagesDir, `${hash}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  await mkdir(tmp);
  try {
    const hostPublicKey = await buildRootfs(tmp, packages, choice, emit, opts.signal);
    const manifest: ImageManifest = {
      format: IMAGE_FORMAT, recipeHash: hash, suite: IMAGE_SUITE, packages, mirror, hostPublicKey,
      createdAt: new Date().toISOString(), buildMs: Date.now() - started,
    };
    await writeFileAtomic(join(tmp, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
    const won = await publishDir(tmp, dir);
    const info = await readImage(dir);
    if (!info) throw new InfraError(`image ${dir} is incomplete after the build`);
    const { size } = await stat(info.rootfs);
    emit({
      type: 'image-build', phase: 'done', ms: Date.now() - started,
      message: won ? `image ${hash} built (${(size / 2 ** 20).toFixed(0)} MiB apparent)` : `image ${hash} built concurrently by another process; using it`,
    });
    return info;
  } catch (err) {
    await safeRemove(tmp).catch(() => {});
    if (opts.signal?.aborted) throw opts.signal.reason ?? err;
    if (err instanceof InfraError) throw err;
    const missing = [...(err as Error).message.matchAll(/Unable to locate package (\S+)/g)].map((m) => m[1]!);
    if (missing.length) throw new PackageNotFoundError([...new Set(missing)], IMAGE_SUITE, mirror);
    throw new InfraError(`image build failed: ${(err as Error).message}`, { cause: err });
  }
}

function requireBuildHost(): void {
  requireTools(['mmdebstrap', 'mkfs.ext4', 'ssh-keygen']);
  if (process.getuid && process.getuid() !== 0) {
    throw new InfraError('building the VM image needs root (mmdebstrap --mode=root keeps file owners for mkfs.ext4 -d)', {
      fix: 'run the first netlab-run once as root (sudo) to build the cached image, or set NETLAB_CACHE to a cache built by root',
    });
  }
}

/** Builds `tmp`/rootfs.img and the client key beside it; returns the guest's host public key. */
async function buildRootfs(tmp: string, packages: string[], choice: MirrorChoice, emit: EventSink, signal?: AbortSignal): Promise<string> {
  const root = join(tmp, 'root');
  await runLogged('mmdebstrap', [
    '--variant=minbase', '--mode=root', '--format=directory',
    `--include=${packages.join(',')}`,
    '--aptopt=Acquire::Languages "none"',
    '--aptopt=APT::Install-Recommends "false"',
    ...TRIM_DPKG_OPTS.map((o) => `--dpkgopt=${o}`),
    '--customize-hook=rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/* "$1"/var/cache/debconf/*-old "$1"/var/log/apt/* "$1"/var/log/dpkg.log "$1"/var/log/alternatives.log',
    '--customize-hook=rm -f "$1"/etc/ssh/ssh_host_*',
    // The keyring is named, not left to mmdebstrap's guess from the host's apt (Ubuntu's keys on Ubuntu).
    IMAGE_SUITE, root, mmdebstrapSource(choice, IMAGE_SUITE),
  ], { signal, onLine: (line) => {
    if (/^[IEW]: /.test(line)) emit({ type: 'image-build', phase: 'progress', message: `mmdebstrap: ${line.slice(3)}` });
  } });

  emit({ type: 'image-build', phase: 'progress', message: 'installing netlab-init and keys' });
  const hostPublicKey = await customizeRoot(root, tmp, signal);

  emit({ type: 'image-build', phase: 'progress', message: `mkfs.ext4 -d (${IMAGE_SIZE}, sparse)` });
  const rootfs = join(tmp, 'rootfs.img');
  await runLogged('mkfs.ext4', ['-q', '-F', '-L', 'root', '-m', '0', '-d', root, rootfs, IMAGE_SIZE], { signal });
  await safeRemove(root);
  await chmod(rootfs, 0o444);
  return hostPublicKey;
}

/** The cached image in `dir`, or undefined when it is missing or incomplete (no manifest). */
async function readImage(dir: string): Promise<ImageInfo | undefined> {
  let m: ImageManifest;
  try {
    m = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as ImageManifest;
  } catch {
    return undefined;
  }
  if (m.format !== IMAGE_FORMAT) return undefined;
  return {
    dir,
    rootfs: join(dir, 'rootfs.img'),
    sshKey: join(dir, 'id_ed25519'),
    hostPublicKey: m.hostPublicKey,
    recipeHash: m.recipeHash,
    packages: m.packages,
  };
}

async function customizeRoot(root: string, outDir: string, signal?: AbortSignal): Promise<string> {
  // Merged /usr: /sbin is a symlink to usr/sbin; write through the real folder.
  const sbin = (await lstat(join(root, 'sbin'))).isSymbolicLink() ? join(root, 'usr', 'sbin') : join(root, 'sbin');
  await writeFile(join(sbin, 'netlab-init'), await readFile(guestFile('netlab-init')), { mode: 0o755 });
  await chmod(join(sbin, 'netlab-init'), 0o755);
  // The trusted context and its agent (netlab-init starts them): run from this image's pristine copy.
  await mkdir(join(root, 'usr', 'lib', 'netlab'), { recursive: true });
  for (const f of TRUSTED_FILES) {
    await writeFile(join(root, 'usr', 'lib', 'netlab', f), await readFile(guestFile(f)), { mode: 0o755 });
    await chmod(join(root, 'usr', 'lib', 'netlab', f), 0o755);
  }
  await mkdir(join(root, 'usr', 'lib', 'netlab', 'bin'), { recursive: true });
  await writeFile(join(root, 'usr', 'lib', 'netlab', 'bin', 'dmesg'), await readFile(guestFile(TRUSTED_DMESG)), { mode: 0o755 });
  await chmod(join(root, 'usr', 'lib', 'netlab', 'bin', 'dmesg'), 0o755);
  await mkdir(join(root, 'usr', 'lib', 'modules'), { recursive: true });
  const passwd = join(root, 'etc', 'passwd');
  const entries = await readFile(passwd, 'utf8');
  const rootEntry = /^(root:(?:[^:\n]*:){5})[^:\n]*$/m;
  if (!rootEntry.test(entries)) throw new InfraError(`no root entry in the image's ${passwd}`);
  await writeFile(passwd, entries.replace(rootEntry, `$1${ROOT_SHELL}`));

  // /var/run → /run (base-files ships it; make sure).
  const varRun = join(root, 'var', 'run');
  const vr = await lstat(varRun).catch(() => undefined);
  if (!vr || !vr.isSymbolicLink()) {
    await rm(varRun, { recursive: true, force: true });
    await execa('ln', ['-s', '/run', varRun]);
  }

  const hostPublicKey = await installKeys(root, outDir, signal);

  // /etc/hosts and /etc/hostname live on /run (tmpfs; netlab-init writes them at boot): a restored copy
  // rewrites both, and on ext4 each truncate cost it a journal transaction and a writeback.
  for (const name of ['hosts', 'hostname']) {
    await rm(join(root, 'etc', name), { force: true });
    await symlink(`/run/${name}`, join(root, 'etc', name));
  }

  // No fstab entries: netlab-init mounts everything itself.
  await writeFile(join(root, 'etc', 'fstab'), '# mounts are done by /sbin/netlab-init\n');
  // Not the build host's resolver: guests reach no DNS server (restrict=on), so a lookup must fail at
  // once, not after seconds of timeouts (python3 -m http.server looks its address up at start).
  await rm(join(root, 'etc', 'resolv.conf'), { force: true });
  await writeFile(join(root, 'etc', 'resolv.conf'), RESOLV_CONF);
  return hostPublicKey;
}

// A fresh host key per image, which the image's manifest records for the client to check, and a
// client key that logs in as root, kept beside the image.
async function installKeys(root: string, outDir: string, signal?: AbortSignal): Promise<string> {
  const hostKey = join(root, 'etc', 'ssh', 'ssh_host_ed25519_key');
  await mkdir(dirname(hostKey), { recursive: true });
  await rm(hostKey, { force: true });
  await rm(`${hostKey}.pub`, { force: true });
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'netlab-guest', '-f', hostKey], { cancelSignal: signal });
  await chmod(hostKey, 0o600);
  // dropbear reads only its own key format; its converter runs inside the new root (the host need
  // not have dropbear). One private copy of the key: the OpenSSH one goes, its .pub stays.
  await mkdir(join(root, 'etc', 'dropbear'), { recursive: true, mode: 0o755 });
  await execa('chroot', [root, '/usr/bin/dropbearconvert', 'openssh', 'dropbear', '/etc/ssh/ssh_host_ed25519_key', DROPBEAR_HOST_KEY], { cancelSignal: signal });
  await chmod(join(root, DROPBEAR_HOST_KEY), 0o600);
  await rm(hostKey);
  const hostPublicKey = (await readFile(`${hostKey}.pub`, 'utf8')).trim();
  await writeFile(join(outDir, 'ssh_host_ed25519_key.pub'), hostPublicKey + '\n');

  const clientKey = join(outDir, 'id_ed25519');
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'netlab-run', '-f', clientKey], { cancelSignal: signal });
  await chmod(clientKey, 0o600);
  const sshDir = join(root, 'root', '.ssh');
  await mkdir(sshDir, { recursive: true, mode: 0o700 });
  await chmod(sshDir, 0o700);
  await writeFile(join(sshDir, 'authorized_keys'), await readFile(`${clientKey}.pub`), { mode: 0o600 });
  await chmod(join(sshDir, 'authorized_keys'), 0o600);
  return hostPublicKey;
}
