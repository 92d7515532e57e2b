// Which Debian mirror the image build and the kernel fetch use, and which keyring checks it. The host's
// own apt sources come first (on a machine whose only way out is its own mirror, that is the one that
// works), but only a source that serves Debian: on Ubuntu (Gradescope's image, GitHub's runners) the
// first apt source is Ubuntu's archive, which has no bookworm. Without one, Debian's main mirror.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InfraError } from '../errors.ts';

export const DEBIAN_MAIN_MIRROR = 'http://deb.debian.org/debian';
/** Installed by Debian's debian-archive-keyring package (in Ubuntu's archive too, same name and path). */
export const DEBIAN_KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';
/** Debian 13's package names it .pgp (its own sources say so); either serves. */
const DEBIAN_KEYRINGS = [DEBIAN_KEYRING, '/usr/share/keyrings/debian-archive-keyring.pgp'];

/** Debian's release codenames, old and coming, and the suite aliases of its archive. */
const DEBIAN_CODENAMES = new Set([
  'hamm', 'slink', 'potato', 'woody', 'sarge', 'etch', 'lenny', 'squeeze', 'wheezy', 'jessie', 'stretch',
  'buster', 'bullseye', 'bookworm', 'trixie', 'forky', 'duke', 'sid', 'experimental',
  'oldoldstable', 'oldstable', 'stable', 'testing', 'unstable',
]);
/** Ubuntu's codenames: certainly not Debian, so never worth a probe. */
const UBUNTU_CODENAMES = new Set([
  'trusty', 'xenial', 'bionic', 'focal', 'groovy', 'hirsute', 'impish', 'jammy', 'kinetic', 'lunar', 'mantic',
  'noble', 'oracular', 'plucky', 'questing', 'resolute', 'devel',
]);
const DEBIAN_SUFFIXES = ['', '-updates', '-backports', '-backports-sloppy', '-proposed-updates'];

export interface AptSource {
  uri: string;
  suites: string[];
  components: string[];
  /** Signed-By / signed-by=, when the source names a keyring file. */
  signedBy?: string;
  /** The file it was read from (for the progress line). */
  file: string;
}

export type MirrorOrigin = 'env' | 'host' | 'default';

export interface MirrorChoice {
  uri: string;
  origin: MirrorOrigin;
  /** Why, in words, for the progress line. */
  reason: string;
  /** The keyring apt and mmdebstrap must check the mirror's Release files with (signed-by). */
  keyring?: string;
}

/** Reads `<uri>/dists/<suite>/Release` (the first few KB are enough), or undefined if it cannot. */
export type ReleaseFetcher = (url: string) => Promise<string | undefined>;

const PROBE_TIMEOUT_MS = 2500;
const MAX_PROBES = 3;

export interface MirrorOptions {
  env?: NodeJS.ProcessEnv;
  /** The host's apt folder; default NETLAB_APT_DIR, else /etc/apt. */
  aptDir?: string;
  fetchRelease?: ReleaseFetcher;
  /** Whether a keyring file exists (tests pretend either way). */
  keyringExists?: (path: string) => boolean;
}

/**
 * The mirror to fetch Debian packages from: NETLAB_MIRROR, else the first apt source of the host that
 * serves Debian (a Debian suite with main; a source of unknown suite whose Release file says Origin:
 * Debian), else Debian's main mirror. Never throws for want of a mirror; throws an InfraError only when
 * Debian's keyring is needed and missing.
 */
export async function chooseMirror(opts: MirrorOptions = {}): Promise<MirrorChoice> {
  // The image build and each kernel fetch ask: one answer (and at most one round of probes) per
  // process and environment.
  if (Object.keys(opts).length === 0) {
    const key = `${process.env.NETLAB_MIRROR ?? ''}\0${process.env.NETLAB_APT_DIR ?? ''}`;
    if (memo?.key !== key) memo = { key, choice: chooseMirrorNow({}) };
    memo.choice.catch(() => { memo = undefined; });
    return memo.choice;
  }
  return chooseMirrorNow(opts);
}

let memo: { key: string; choice: Promise<MirrorChoice> } | undefined;

async function chooseMirrorNow(opts: MirrorOptions): Promise<MirrorChoice> {
  const env = opts.env ?? process.env;
  const keyringExists = opts.keyringExists ?? existsSync;
  const debianKeyring = DEBIAN_KEYRINGS.find((k) => keyringExists(k));
  const fromEnv = env.NETLAB_MIRROR?.trim();
  if (fromEnv) {
    return { uri: fromEnv.replace(/\/+$/, ''), origin: 'env', reason: 'NETLAB_MIRROR', keyring: debianKeyring };
  }
  const aptDir = opts.aptDir ?? (env.NETLAB_APT_DIR?.trim() || '/etc/apt');
  const sources = aptSources(aptDir).filter((s) => !isSecurityOrDebug(s));
  const keyringFor = (s: AptSource) => (s.signedBy && keyringExists(s.signedBy) ? s.signedBy : debianKeyring);

  // A release's own suite before its -updates or -backports (the host's chosen mirror usually carries
  // the release; a backports source is often added beside it pointing elsewhere).
  const debian = sources.filter((s) => classify(s) === 'debian');
  const sure = debian.find((s) => DEBIAN_CODENAMES.has(s.suites[0]!)) ?? debian[0];
  if (sure) return { uri: sure.uri, origin: 'host', reason: `the host's Debian source in ${sure.file}`, keyring: keyringFor(sure) };

  const fetchRelease = opts.fetchRelease ?? fetchReleaseHead;
  for (const s of sources.filter((x) => classify(x) === 'unknown').slice(0, MAX_PROBES)) {
    const suite = s.suites[0]!;
    const release = await fetchRelease(`${s.uri}/dists/${suite}/Release`).catch(() => undefined);
    if (release && /^Origin:\s*Debian\b/m.test(release)) {
      return { uri: s.uri, origin: 'host', reason: `the host's source in ${s.file} (its Release file says Origin: Debian)`, keyring: keyringFor(s) };
    }
  }

  if (!debianKeyring) {
    throw new InfraError(`Debian's archive keyring ${DEBIAN_KEYRING} is missing: Debian's mirror cannot be checked`, {
      fix: 'apt-get install -y debian-archive-keyring (the package has this name on Debian and Ubuntu)',
    });
  }
  const seen = describeSources(sources);
  return {
    uri: DEBIAN_MAIN_MIRROR, origin: 'default', keyring: debianKeyring,
    reason: `Debian's main mirror: the host's apt sources serve no Debian (${seen}); NETLAB_MIRROR sets another`,
  };
}

/** A source is Debian's for sure, surely not (Ubuntu, no main, a flat repository), or unknown. */
export function classify(s: AptSource): 'debian' | 'not-debian' | 'unknown' {
  const suite = s.suites[0] ?? '';
  if (!suite || suite.endsWith('/')) return 'not-debian';
  const base = suite.replace(/-.*$/, '');
  if (UBUNTU_CODENAMES.has(base)) return 'not-debian';
  if (!s.components.includes('main')) return 'not-debian';
  const debianSuite = DEBIAN_CODENAMES.has(base) && DEBIAN_SUFFIXES.some((x) => suite === base + x);
  // A third party's repository may name a Debian suite too (`bookworm main`), but it is signed with
  // its own key: only then is its Release file asked.
  const ownKey = s.signedBy !== undefined && !/debian-archive/.test(s.signedBy);
  if (debianSuite && !ownKey) return 'debian';
  return 'unknown';
}

function isSecurityOrDebug(s: AptSource): boolean {
  return /security/.test(s.uri) || s.suites.some((x) => x.endsWith('-security') || x.endsWith('/updates') || x.endsWith('-debug'));
}

function describeSources(sources: AptSource[]): string {
  if (sources.length === 0) return 'none found';
  const first = new Map<string, string>();
  for (const s of sources) if (!first.has(s.uri)) first.set(s.uri, `${s.uri} ${s.suites[0] ?? ''}`.trim());
  const uniq = [...first.values()];
  return uniq.slice(0, 2).join(', ') + (uniq.length > 2 ? `, +${uniq.length - 2} more` : '');
}

/** Every `deb` source of an apt folder: deb822 *.sources first, then sources.list, then *.list files. */
export function aptSources(aptDir: string): AptSource[] {
  const partsDir = join(aptDir, 'sources.list.d');
  const out: AptSource[] = [];
  for (const f of listDir(partsDir, '.sources')) out.push(...parseDeb822(readText(join(partsDir, f)), `${partsDir}/${f}`));
  out.push(...parseOneLine(readText(join(aptDir, 'sources.list')), join(aptDir, 'sources.list')));
  for (const f of listDir(partsDir, '.list')) out.push(...parseOneLine(readText(join(partsDir, f)), `${partsDir}/${f}`));
  return out.map((s) => ({ ...s, uri: s.uri.replace(/\/+$/, '') }));
}

function listDir(dir: string, ext: string): string[] {
  try { return readdirSync(dir).filter((f) => f.endsWith(ext)).sort(); } catch { return []; }
}

function readText(file: string): string {
  try { return readFileSync(file, 'utf8'); } catch { return ''; }
}

const URI_SCHEMES = /^(https?|file):/;

/** The deb stanzas of a deb822 file (Enabled: no skipped; continuation lines, e.g. an inline key, ignored). */
export function parseDeb822(text: string, file = ''): AptSource[] {
  const out: AptSource[] = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    const fields: Record<string, string> = {};
    for (const line of stanza.split('\n')) {
      if (line.startsWith('#')) continue;
      const m = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
      if (m) fields[m[1]!.toLowerCase()] = m[2]!.trim();
    }
    if (!fields.uris || !(fields.types ?? '').split(/\s+/).includes('deb')) continue;
    if ((fields.enabled ?? 'yes').toLowerCase() === 'no') continue;
    const suites = (fields.suites ?? '').split(/\s+/).filter(Boolean);
    const components = (fields.components ?? '').split(/\s+/).filter(Boolean);
    const signedBy = fields['signed-by']?.startsWith('/') ? fields['signed-by'].split(/\s+/)[0] : undefined;
    for (const uri of fields.uris.split(/\s+/)) {
      if (!URI_SCHEMES.test(uri)) continue;
      // Each suite of a stanza is a source of its own (noble, noble-updates, ...).
      for (const suite of suites.length ? suites : ['']) out.push({ uri, suites: [suite], components, file, ...(signedBy ? { signedBy } : {}) });
    }
  }
  return out;
}

/** `deb [opts] URI suite comp...` lines of a one-line-style sources.list. */
export function parseOneLine(text: string, file = ''): AptSource[] {
  const out: AptSource[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    const m = /^deb\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)((?:\s+\S+)*)$/.exec(line);
    if (!m || !URI_SCHEMES.test(m[2]!)) continue;
    const signedBy = /(?:^|\s)signed-by=(\S+)/.exec(m[1] ?? '')?.[1];
    out.push({ uri: m[2]!, suites: [m[3]!], components: m[4]!.trim().split(/\s+/).filter(Boolean), file, ...(signedBy ? { signedBy } : {}) });
  }
  return out;
}

/** The first 8 KB of a Release file over HTTP (2.5 s at most) or from a file: mirror. */
export async function fetchReleaseHead(url: string): Promise<string | undefined> {
  if (url.startsWith('file:')) {
    return (await readFile(fileURLToPath(url), 'utf8')).slice(0, 8192);
  }
  const res = await fetch(url, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
  if (!res.ok || !res.body) return undefined;
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (size < 8192) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.length;
  }
  await reader.cancel().catch(() => {});
  return Buffer.concat(chunks).toString('utf8');
}

/** mmdebstrap's MIRROR argument: a full sources line, so the keyring is given, not guessed. */
export function mmdebstrapSource(choice: MirrorChoice, suite: string): string {
  return choice.keyring ? `deb [signed-by=${choice.keyring}] ${choice.uri} ${suite} main` : choice.uri;
}
