// docs/gradescope/setup.sh as Gradescope's Ubuntu 22.04 and 24.04 images would run it, with every
// command it calls (apt-get, curl, node, npm, QEMU) replaced by a stub that logs its arguments: which
// packages, when NodeSource is used, the QEMU advice, the keyring step, the warm-up and its exit code.
// Ubuntu itself cannot run here; what the stubs stand for is checked elsewhere (debian-keyring.sh
// against Debian's mirror in test/e2e/gradescope.test.ts, the mirror choice in mirror.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from '../helpers/temp-dirs.ts';
import { execa } from 'execa';

const repo = join(import.meta.dirname, '..', '..');

const OS = {
  '22.04': 'NAME="Ubuntu"\nVERSION_ID="22.04"\nVERSION_CODENAME=jammy\nID=ubuntu\nID_LIKE=debian\n',
  '24.04': 'NAME="Ubuntu"\nVERSION_ID="24.04"\nVERSION_CODENAME=noble\nID=ubuntu\nID_LIKE=debian\n',
};

async function stub(dir: string, name: string, body: string): Promise<void> {
  await writeFile(join(dir, name), `#!/bin/bash\necho "${name} $*" >> "$STUB_LOG"\n${body}\n`);
  await chmod(join(dir, name), 0o755);
}

async function runSetup(o: { os: keyof typeof OS; qemu: string; nodeOk: boolean; warmExit?: number }) {
  const root = await tempDir('netlab-gs-setup-');
  const bin = join(root, 'bin');
  const src = join(root, 'ag', 'source');
  await mkdir(bin);
  await mkdir(join(src, 'netlab-run', 'docs', 'gradescope'), { recursive: true });
  await writeFile(join(src, 'netlab-run', 'docs', 'gradescope', 'debian-keyring.sh'), 'echo "keyring-step" >> "$STUB_LOG"\n');
  await writeFile(join(root, 'os-release'), OS[o.os]);
  await stub(bin, 'apt-get', '');
  await stub(bin, 'npm', '');
  await stub(bin, 'qemu-system-x86_64', `echo "QEMU emulator version ${o.qemu} (Debian 1:${o.qemu}+dfsg-0ubuntu1)"`);
  await stub(bin, 'curl', 'echo "echo nodesource-setup >> \\"$STUB_LOG\\""');
  await stub(bin, 'node', `[ "$1" = -e ] && exit ${o.nodeOk ? 0 : 1}; exit ${o.warmExit ?? 0}`);
  const log = join(root, 'log');
  await writeFile(log, '');
  const r = await execa('bash', [join(repo, 'docs/gradescope/setup.sh')], {
    reject: false, all: true,
    env: { PATH: `${bin}:/usr/bin:/bin`, STUB_LOG: log, AUTOGRADER_ROOT: join(root, 'ag'), NETLAB_OS_RELEASE: join(root, 'os-release') },
  });
  return { r, log: (await readFile(log, 'utf8')).trim().split('\n') };
}

test('setup.sh on Ubuntu 22.04: Debian\'s tools and keyring step, QEMU advice, Node.js 20 from NodeSource, warm-up', async () => {
  const { r, log } = await runSetup({ os: '22.04', qemu: '6.2.0', nodeOk: false });
  assert.equal(r.exitCode, 0, r.all);
  const install = log.find((l) => l.startsWith('apt-get install') && l.includes('mmdebstrap'))!;
  for (const p of ['qemu-system-x86', 'qemu-utils', 'mmdebstrap', 'debian-archive-keyring', 'busybox-static', 'tcpdump', 'curl', 'gnupg']) {
    assert.ok(install.split(' ').includes(p), `${p} installed`);
  }
  assert.ok(log.indexOf('keyring-step') > log.indexOf(install), 'keyring checked after the packages are in');
  assert.match(r.all ?? '', /setup\.sh: ubuntu 22\.04, QEMU 6\.2\.0\n.*QEMU 6\.2\.0 is old and slow .*Ubuntu 24\.04 base image/);
  const ns = log.indexOf('nodesource-setup');
  assert.ok(ns > 0 && log[ns + 1] === 'apt-get install -y -qq nodejs', log.join('\n'));
  assert.ok(log.includes('npm ci --no-audit --no-fund --loglevel=error'));
  assert.match(log.at(-1)!, /^node bin\/netlab-run\.mjs .*\/ag\/source\/lab --out \/tmp\/netlab-warmup$/);
});

test('setup.sh on Ubuntu 24.04 with Node.js 20: no advice, no NodeSource', async () => {
  const { r, log } = await runSetup({ os: '24.04', qemu: '8.2.2', nodeOk: true });
  assert.equal(r.exitCode, 0, r.all);
  assert.match(r.all ?? '', /setup\.sh: ubuntu 24\.04, QEMU 8\.2\.2/);
  assert.doesNotMatch(r.all ?? '', /old and slow/);
  assert.ok(!log.includes('nodesource-setup'));
  assert.ok(!log.some((l) => l.startsWith('curl')));
});

test('setup.sh: a reference that fails a check still builds; a grader that cannot run fails the build', async () => {
  assert.equal((await runSetup({ os: '24.04', qemu: '8.2.2', nodeOk: true, warmExit: 1 })).r.exitCode, 0);
  const { r } = await runSetup({ os: '24.04', qemu: '8.2.2', nodeOk: true, warmExit: 69 });
  assert.equal(r.exitCode, 69);
  assert.match(r.all ?? '', /grading the lab's reference failed \(netlab-run exit 69\)/);
});
