// What a kernel spec may name (`debian:<release>[:<flavour>]` or `local:<bzImage>:<modules>`), parsed
// without touching the disk or the network, so a config file or --kernel is checked before any build.
import { resolve } from 'node:path';
import { recipeHash } from './cache.ts';

/**
 * Debian releases a `debian:` spec may name. Not bookworm-backports: its 6.12.95 cloud kernel hit
 * double faults in cmpxchg16b (slub) in 4 of 7 TCG boots here, while trixie's 6.12.117 boots cleanly.
 */
export const DEBIAN_RELEASES = ['bullseye', 'bookworm', 'trixie', 'sid'] as const;
export type DebianRelease = (typeof DEBIAN_RELEASES)[number];
export type Flavour = 'cloud' | 'generic';

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
