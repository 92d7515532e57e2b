// scripts/setup.sh on pretend machines: a fresh one, where QEMU and the other tools are absent, and
// one where everything is installed. The script asks dpkg-query what is installed, apt-config where the
// sources live, and installs with apt-get and npm: here those four are recording stand-ins first on a
// PATH that holds nothing else but the few base tools the script uses, so no real package is touched
// and no real QEMU is found. Also: every shell script of the project passes shellcheck.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { HOST_TOOLS } from '../../vm/machine-set.ts';
import { findTool, packagesFor } from '../../vm/build/host-tools.ts';

const repo = new URL('../..', import.meta.url).pathname;
const BASE_TOOLS = ['bash', 'sed', 'grep', 'sort', 'tr', 'cat', 'id', 'dirname', 'tee'];
const LAB_PACKAGES = ['qemu-system-x86', 'qemu-utils', 'mmdebstrap', 'debian-archive-keyring', 'busybox-static', 'kmod',
  'tcpdump', 'vde2', 'cpio', 'e2fsprogs', 'openssh-client', 'util-linux', 'zstd', 'xz-utils'];
const TEST_PACKAGES = ['chromium', 'libxml2-utils', 'openssh-server', 'shellcheck'];

interface Machine { root: string; repo: string; log: string; installed: string; sources: string }

/** A pretend machine: a copy of the scripts, a bin folder of stand-ins, apt sources of its own. */
function machine(opts: { installed: string[]; qemu?: string; codename: string; nodeModules: boolean }): Machine {
  const root = mkdtempSync(join(tmpdir(), 'netlab-setup-'));
  const m: Machine = { root, repo: join(root, 'repo'), log: join(root, 'calls.log'), installed: join(root, 'installed'), sources: join(root, 'sources.list.d') };
  const bin = join(root, 'bin');
  for (const d of [bin, join(m.repo, 'scripts'), m.sources]) mkdirSync(d, { recursive: true });
  copyFileSync(join(repo, 'scripts/setup.sh'), join(m.repo, 'scripts/setup.sh'));
  writeFileSync(join(m.repo, 'package-lock.json'), '{}\n');
  if (opts.nodeModules) { mkdirSync(join(m.repo, 'node_modules')); writeFileSync(join(m.repo, 'node_modules/.package-lock.json'), '{}\n'); }
  writeFileSync(m.installed, opts.installed.map((p) => `${p}\n`).join(''));
  writeFileSync(join(root, 'os-release'), `ID=debian\nVERSION_CODENAME=${opts.codename}\n`);
  writeFileSync(join(root, 'sources.list'), 'deb http://deb.debian.org/debian bookworm main\n');
  for (const t of BASE_TOOLS) symlinkSync(findTool(t)!, join(bin, t));
  const script = (name: string, body: string) => { writeFileSync(join(bin, name), `#!${findTool('bash')}\n${body}\n`); chmodSync(join(bin, name), 0o755); };
  const record = (name: string) => `echo "${name} $*" >> ${m.log}`;
  script('dpkg-query', `for p in "\${@:3}"; do if grep -qxF "$p" ${m.installed}; then echo "ii  $p"; else echo "dpkg-query: no packages found matching $p" >&2; fi; done`);
  script('apt-config', `echo "SOURCELIST='${join(root, 'sources.list')}'"; echo "SOURCEPARTS='${m.sources}/'"`);
  // apt-get install "installs": the packages named become installed for the script's next questions.
  script('apt-get', `${record('apt-get')}\n[ "$1" = install ] && for a in "$@"; do case "$a" in -*|install|bookworm-backports) ;; *) echo "$a" >> ${m.installed} ;; esac; done; exit 0`);
  script('npm', `${record('npm')}\n${findTool('mkdir')} -p node_modules && echo '{}' > node_modules/.package-lock.json`);
  writeFileSync(join(m.repo, 'scripts/setup-vagrant.sh'), `echo "setup-vagrant.sh $*" >> ${m.log}\n`);
  if (opts.qemu) script('qemu-system-x86_64', `echo "QEMU emulator version ${opts.qemu} (Debian 1:${opts.qemu}+ds-1~bpo12+1)"`);
  return m;
}

async function setup(m: Machine, ...args: string[]) {
  const r = await execa(join(m.root, 'bin/bash'), [join(m.repo, 'scripts/setup.sh'), ...args], {
    reject: false, extendEnv: false, env: { PATH: join(m.root, 'bin'), NETLAB_OS_RELEASE: join(m.root, 'os-release') },
  });
  const calls = existsSync(m.log) ? readFileSync(m.log, 'utf8').trim().split('\n') : [];
  rmSync(m.root, { recursive: true, force: true });
  return { ...r, calls };
}

const install = (...pkgs: string[]) => `apt-get install -y -qq --no-install-recommends ${pkgs.join(' ')}`;

test('on a fresh Debian 12 without QEMU, setup installs QEMU 10 from backports, then the rest of what a lab needs, and says so', async () => {
  const m = machine({ installed: ['util-linux', 'e2fsprogs', 'debian-archive-keyring'], codename: 'bookworm', nodeModules: false });
  const sources = m.sources;
  const r = await setup(m);
  assert.equal(r.exitCode, 0, r.stderr || r.stdout);
  const rest = LAB_PACKAGES.filter((p) => !['qemu-system-x86', 'qemu-utils', 'util-linux', 'e2fsprogs', 'debian-archive-keyring'].includes(p));
  assert.deepEqual(r.calls, [
    'apt-get update -qq',
    install('-t', 'bookworm-backports', 'qemu-system-x86', 'qemu-utils'),
    install(...rest),
    'npm ci --no-audit --no-fund --loglevel=error',
  ]);
  assert.match(r.stdout, /adding Debian's bookworm-backports suite/);
  assert.match(r.stdout, /installing QEMU 10 from bookworm-backports \(installed: none\)/);
  assert.equal(r.stdout.trim().split('\n').at(-1), `setup: done: installed QEMU 10 from bookworm-backports, ${rest.length} Debian packages, npm packages`);
  assert.ok(!existsSync(sources), 'the pretend machine is gone');
  // Nothing only the tests or the Vagrant backend need.
  for (const p of [...TEST_PACKAGES, 'vagrant']) assert.ok(!r.calls.join('\n').includes(p), p);
});

test('on a machine with everything installed, setup calls no apt and no npm and says everything is there', async () => {
  const r = await setup(machine({ installed: LAB_PACKAGES, qemu: '10.0.2', codename: 'bookworm', nodeModules: true }));
  assert.equal(r.exitCode, 0, r.stderr);
  assert.deepEqual(r.calls, []);
  assert.equal(r.stdout.trim(), `setup: everything is installed already (${LAB_PACKAGES.length} Debian packages, npm packages)`);
});

test('setup --test adds what the test suite needs (Chromium, shellcheck, sshd) and the Vagrant backend', async () => {
  const r = await setup(machine({ installed: LAB_PACKAGES, qemu: '10.0.2', codename: 'bookworm', nodeModules: true }), '--test');
  assert.equal(r.exitCode, 0, r.stderr);
  assert.deepEqual(r.calls, ['apt-get update -qq', install(...TEST_PACKAGES), 'setup-vagrant.sh --no-start']);
  const vagrant = await setup(machine({ installed: LAB_PACKAGES, qemu: '10.0.2', codename: 'bookworm', nodeModules: true }), '--vagrant');
  assert.deepEqual(vagrant.calls, ['setup-vagrant.sh --no-start']);
});

test('on Debian 13 QEMU comes from the release itself, in one apt-get install', async () => {
  const r = await setup(machine({ installed: [], codename: 'trixie', nodeModules: true }));
  assert.equal(r.exitCode, 0, r.stderr);
  assert.deepEqual(r.calls, ['apt-get update -qq', install(...LAB_PACKAGES)]);
});

test('bookworm QEMU 7.2 is upgraded from backports; an unknown option is a usage error', async () => {
  const r = await setup(machine({ installed: LAB_PACKAGES, qemu: '7.2.19', codename: 'bookworm', nodeModules: true }));
  assert.deepEqual(r.calls, ['apt-get update -qq', install('-t', 'bookworm-backports', 'qemu-system-x86', 'qemu-utils')]);
  assert.match(r.stdout, /installed: 7\)/);
  const bad = await setup(machine({ installed: LAB_PACKAGES, codename: 'bookworm', nodeModules: true }), '--vagarnt');
  assert.equal(bad.exitCode, 2);
  assert.match(bad.stderr, /unknown option --vagarnt/);
});

test('setup installs a package for every host tool a lab run requires', () => {
  // Tools of Debian's essential set (apt, dpkg, gzip) are on every Debian machine.
  const essential = ['apt', 'dpkg', 'gzip'];
  const needed = packagesFor([...HOST_TOOLS, 'vde_switch', 'zstd', 'xz']).filter((p) => !essential.includes(p));
  const script = readFileSync(join(repo, 'scripts/setup.sh'), 'utf8');
  const listed = /^lab_pkgs=\(([^)]*)\)/m.exec(script)![1]!.split(/\s+/).filter(Boolean);
  assert.deepEqual(listed, LAB_PACKAGES, 'the test knows the same list as the script');
  for (const p of needed) assert.ok(listed.includes(p), `${p} is needed by a lab run but scripts/setup.sh does not install it`);
});

test('every shell script of the project passes shellcheck', async () => {
  const shellcheck = findTool('shellcheck');
  assert.ok(shellcheck, 'shellcheck is missing: bash scripts/setup.sh --test installs it (Debian package shellcheck)');
  const sh_ = (dir: string) => (existsSync(join(repo, dir)) ? readdirSync(join(repo, dir)).filter((f) => f.endsWith('.sh')).map((f) => join(dir, f)) : []);
  const labs = readdirSync(join(repo, 'labs')).filter((d) => existsSync(join(repo, 'labs', d, 'lab.yaml')));
  const bash = [...sh_('scripts'), ...readdirSync(join(repo, 'docs'), { withFileTypes: true }).filter((d) => d.isDirectory()).flatMap((d) => sh_(join('docs', d.name))), 'docs/gradescope/run_autograder',
    'vm/build/guest-files/netlab-init', ...labs.flatMap((l) => sh_(join('labs', l, 'solution'))),
    ...['gradescope', 'labs/mylab/solution', 'labs/mylab/examples'].flatMap((d) => sh_(join('templates/course', d)))];
  assert.ok(bash.includes('scripts/setup.sh') && bash.includes('labs/bridge/solution/bridge.sh'), bash.join(' '));
  const r = await execa(shellcheck, ['-S', 'warning', ...bash], { cwd: repo, reject: false });
  assert.equal(r.exitCode, 0, r.stdout);
  const sh = await execa(shellcheck, ['-S', 'warning', '-s', 'sh', 'vm/build/guest-files/initramfs-init'], { cwd: repo, reject: false });
  assert.equal(sh.exitCode, 0, sh.stdout);
});
