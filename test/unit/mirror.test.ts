// The Debian mirror choice on the hosts courses grade on: Ubuntu 22.04 (Gradescope's image, one-line
// sources.list) and 24.04 (deb822 ubuntu.sources), Debian 12 and 13, and a host with both. The apt
// folders under test/fixtures/apt/ are those systems' own files; no test here touches the network
// (the Release-file probe is injected), except a probe of a server on 127.0.0.1 for its time bound.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { tempDir } from '../helpers/temp-dirs.ts';
import { InfraError } from '../../vm/errors.ts';
import {
  aptSources, chooseMirror, classify, DEBIAN_KEYRING, DEBIAN_MAIN_MIRROR, fetchReleaseHead,
  mmdebstrapSource, parseDeb822, parseOneLine, type MirrorOptions,
} from '../../vm/build/mirror.ts';
import { privateSourcesList } from '../../vm/build/debian-kernel.ts';

const fixtures = join(import.meta.dirname, '..', 'fixtures', 'apt');

/** A probe that records what it was asked and answers from a table (undefined: unreachable). */
function probe(answers: Record<string, string> = {}) {
  const asked: string[] = [];
  const fetchRelease = async (url: string) => { asked.push(url); return answers[url]; };
  return { asked, fetchRelease };
}

const onHost = (dir: string, more: Partial<MirrorOptions> = {}): MirrorOptions => ({
  env: {}, aptDir: join(fixtures, dir), keyringExists: (p) => p === DEBIAN_KEYRING || p.endsWith('.pgp'), ...more,
});

test('Ubuntu 22.04 (sources.list + NodeSource): Debian\'s main mirror, said so, Debian\'s keyring', async () => {
  const p = probe({ 'https://deb.nodesource.com/node_20.x/dists/nodistro/Release': 'Origin: Node Source\nLabel: Node Source\n' });
  const c = await chooseMirror(onHost('ubuntu-22.04', { fetchRelease: p.fetchRelease }));
  assert.equal(c.uri, DEBIAN_MAIN_MIRROR);
  assert.equal(c.origin, 'default');
  assert.equal(c.keyring, DEBIAN_KEYRING);
  assert.match(c.reason, /^Debian's main mirror: the host's apt sources serve no Debian \(http:\/\/archive\.ubuntu\.com\/ubuntu jammy, /);
  // Ubuntu's suites are known: only the source of unknown suite was asked, once.
  assert.deepEqual(p.asked, ['https://deb.nodesource.com/node_20.x/dists/nodistro/Release']);
  // What the old rule took: the first source, Ubuntu's archive.
  assert.equal(aptSources(join(fixtures, 'ubuntu-22.04'))[0]!.uri, 'http://archive.ubuntu.com/ubuntu');
});

test('Ubuntu 24.04 (deb822 ubuntu.sources): Debian\'s main mirror without any probe', async () => {
  const p = probe();
  const c = await chooseMirror(onHost('ubuntu-24.04', { fetchRelease: p.fetchRelease }));
  assert.deepEqual([c.uri, c.origin, c.keyring], [DEBIAN_MAIN_MIRROR, 'default', DEBIAN_KEYRING]);
  assert.match(c.reason, /serve no Debian \(http:\/\/archive\.ubuntu\.com\/ubuntu noble\)/);
  assert.deepEqual(p.asked, []);
  const sources = aptSources(join(fixtures, 'ubuntu-24.04'));
  assert.deepEqual(sources.map((s) => s.suites[0]), ['noble', 'noble-updates', 'noble-backports', 'noble-security']);
  assert.ok(sources.every((s) => classify(s) === 'not-debian'));
});

test('Debian 12 (installer sources.list + backports): the host\'s own mirror, its release suite first', async () => {
  const p = probe();
  const c = await chooseMirror(onHost('debian-12', { fetchRelease: p.fetchRelease }));
  assert.deepEqual([c.uri, c.origin], ['http://ftp.fr.debian.org/debian', 'host']);
  assert.match(c.reason, /the host's Debian source in .*debian-12\/sources\.list$/);
  assert.equal(c.keyring, DEBIAN_KEYRING);
  assert.deepEqual(p.asked, []);
});

test('Debian 13 (deb822 debian.sources): deb.debian.org, with the keyring its source names', async () => {
  const c = await chooseMirror(onHost('debian-13', { fetchRelease: probe().fetchRelease }));
  assert.deepEqual([c.uri, c.origin, c.keyring], ['http://deb.debian.org/debian', 'host', '/usr/share/keyrings/debian-archive-keyring.pgp']);
});

test('a host with Ubuntu\'s and a Debian mirror: the Debian one; third parties with Debian suite names are not it', async () => {
  const p = probe();
  const c = await chooseMirror(onHost('mixed', { fetchRelease: p.fetchRelease }));
  assert.deepEqual([c.uri, c.origin], ['http://mirror.campus.example/debian', 'host']);
  assert.deepEqual(p.asked, []);
  const byUri = new Map(aptSources(join(fixtures, 'mixed')).map((s) => [s.uri, classify(s)]));
  assert.equal(byUri.get('https://download.docker.com/linux/debian'), 'not-debian', 'bookworm stable: no main');
  assert.equal(byUri.get('https://apt.releases.hashicorp.com'), 'unknown', 'bookworm main signed by its own key');
});

test('NETLAB_MIRROR wins everywhere', async () => {
  const c = await chooseMirror(onHost('ubuntu-22.04', { env: { NETLAB_MIRROR: ' http://m.example/debian/ ' }, fetchRelease: probe().fetchRelease }));
  assert.deepEqual([c.uri, c.origin, c.reason, c.keyring], ['http://m.example/debian', 'env', 'NETLAB_MIRROR', DEBIAN_KEYRING]);
});

test('NETLAB_APT_DIR points the choice at another apt folder', async () => {
  const c = await chooseMirror({ env: { NETLAB_APT_DIR: join(fixtures, 'ubuntu-24.04') }, keyringExists: () => true, fetchRelease: probe().fetchRelease });
  assert.equal(c.origin, 'default');
});

test('a mirror of unknown suite counts when its Release file says Origin: Debian; at most 3 probes', async () => {
  const apt = await tempDir('netlab-apt-');
  await writeFile(join(apt, 'sources.list'), [
    'deb http://a.example/repo one main', 'deb http://b.example/repo two main', 'deb http://lan.example/debian local main',
    'deb http://d.example/repo four main',
  ].join('\n'));
  const hit = probe({ 'http://lan.example/debian/dists/local/Release': 'Origin: Debian\nLabel: Debian\nSuite: stable\nCodename: bookworm\n' });
  const c = await chooseMirror({ env: {}, aptDir: apt, keyringExists: () => true, fetchRelease: hit.fetchRelease });
  assert.deepEqual([c.uri, c.origin], ['http://lan.example/debian', 'host']);
  assert.match(c.reason, /Origin: Debian/);
  assert.equal(hit.asked.length, 3);
  await writeFile(join(apt, 'sources.list'), ['one', 'two', 'three', 'four', 'five'].map((s) => `deb http://${s}.example/r ${s} main`).join('\n'));
  const none = probe();
  assert.equal((await chooseMirror({ env: {}, aptDir: apt, keyringExists: () => true, fetchRelease: none.fetchRelease })).origin, 'default');
  assert.equal(none.asked.length, 3);
  // A probe that throws (DNS, refused) is a "no", not an error.
  const failing = async () => { throw new Error('getaddrinfo ENOTFOUND'); };
  assert.equal((await chooseMirror({ env: {}, aptDir: apt, keyringExists: () => true, fetchRelease: failing })).origin, 'default');
});

test('a file: mirror is probed by reading its Release file', async () => {
  const root = await tempDir('netlab-mirror-');
  await mkdir(join(root, 'mirror', 'dists', 'frozen'), { recursive: true });
  await writeFile(join(root, 'mirror', 'dists', 'frozen', 'Release'), 'Origin: Debian\nCodename: bookworm\n');
  await mkdir(join(root, 'apt'));
  await writeFile(join(root, 'apt', 'sources.list'), `deb file:${root}/mirror frozen main\n`);
  const c = await chooseMirror({ env: {}, aptDir: join(root, 'apt'), keyringExists: () => true });
  assert.deepEqual([c.uri, c.origin], [`file:${root}/mirror`, 'host']);
});

test('no Debian source and no debian-archive-keyring: an InfraError with the apt-get fix', async () => {
  await assert.rejects(chooseMirror(onHost('ubuntu-24.04', { keyringExists: () => false })),
    (e: unknown) => e instanceof InfraError && /debian-archive-keyring/.test(e.fix ?? '') && /missing/.test(e.message));
  // On Debian the host's apt trusts its mirror already: no keyring is forced.
  const c = await chooseMirror(onHost('debian-12', { keyringExists: () => false }));
  assert.deepEqual([c.origin, c.keyring], ['host', undefined]);
});

test('the keyring reaches mmdebstrap and the kernel fetch\'s apt as signed-by', () => {
  const choice = { uri: DEBIAN_MAIN_MIRROR, origin: 'default' as const, reason: '', keyring: DEBIAN_KEYRING };
  assert.equal(mmdebstrapSource(choice, 'bookworm'), `deb [signed-by=${DEBIAN_KEYRING}] http://deb.debian.org/debian bookworm main`);
  assert.equal(mmdebstrapSource({ ...choice, keyring: undefined }, 'bookworm'), DEBIAN_MAIN_MIRROR);
  assert.equal(privateSourcesList(choice.uri, 'trixie', choice.keyring), `deb [signed-by=${DEBIAN_KEYRING}] http://deb.debian.org/debian trixie main\n`);
});

test('parsing: deb822 stanzas (one source per suite, disabled and deb-src skipped), one-line options', () => {
  const text = [
    'Types: deb deb-src', 'URIs: http://m.example/debian', 'Suites: bookworm bookworm-updates', 'Components: main contrib',
    'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg', '',
    'Types: deb-src', 'URIs: http://src.example/debian', 'Suites: bookworm', '',
    'Types: deb', 'URIs: http://off.example/debian', 'Suites: bookworm', 'Enabled: no', '',
    'Types: deb', 'URIs: http://inline.example/debian', 'Suites: bookworm', 'Components: main',
    'Signed-By:', ' -----BEGIN PGP PUBLIC KEY BLOCK-----', ' .', ' mQINBF...', ' -----END PGP PUBLIC KEY BLOCK-----',
  ].join('\n');
  assert.deepEqual(parseDeb822(text, 'x.sources'), [
    { uri: 'http://m.example/debian', suites: ['bookworm'], components: ['main', 'contrib'], file: 'x.sources', signedBy: '/usr/share/keyrings/debian-archive-keyring.gpg' },
    { uri: 'http://m.example/debian', suites: ['bookworm-updates'], components: ['main', 'contrib'], file: 'x.sources', signedBy: '/usr/share/keyrings/debian-archive-keyring.gpg' },
    { uri: 'http://inline.example/debian', suites: ['bookworm'], components: ['main'], file: 'x.sources' },
  ]);
  assert.deepEqual(parseOneLine('# c\ndeb-src http://s.example/debian bookworm main\ndeb [arch=amd64 signed-by=/k.gpg] http://m.example/debian/ bookworm main # why\ncdrom:[x]/ bookworm main\n'), [
    { uri: 'http://m.example/debian/', suites: ['bookworm'], components: ['main'], file: '', signedBy: '/k.gpg' },
  ]);
});

test('the default probe reads 8 KB at most and gives up on a silent server within its time bound', async () => {
  const big = `Origin: Debian\n${'x'.repeat(1 << 20)}`;
  const server = createServer((req, res) => {
    if (req.url === '/silent/dists/x/Release') return; // never answers
    res.end(big);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const head = await fetchReleaseHead(`${base}/debian/dists/x/Release`);
    assert.ok(head && head.startsWith('Origin: Debian') && head.length < 200_000, `read ${head?.length}`);
    const started = Date.now();
    await assert.rejects(fetchReleaseHead(`${base}/silent/dists/x/Release`));
    assert.ok(Date.now() - started < 4000, `took ${Date.now() - started} ms`);
  } finally {
    server.closeAllConnections();
    server.close();
  }
});
