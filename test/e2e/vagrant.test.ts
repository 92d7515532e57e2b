// The Vagrant backend end to end: `netlab-run labs/bridge --backend vagrant` brings the lab up with
// vagrant-libvirt (TCG), grades seed 001's bridge.sh full marks, keeps the guests away from the host
// (only DHCP gets through from the management network), and leaves no domain, network, pool, volume,
// firewall rule or daemon behind. scripts/setup.sh installed Vagrant (scripts/setup-vagrant.sh).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repo, runCli } from '../helpers/cli.ts';
import { processesNaming } from '../helpers/processes.ts';

const virsh = (...args: string[]) => execFileSync('virsh', ['-q', '-c', 'qemu:///system', ...args], { encoding: 'utf8' }).split('\n').map((l) => l.trim()).filter(Boolean);
const daemons = () => ['libvirtd', 'virtlogd'].filter((d) => { try { execFileSync('pgrep', ['-x', d]); return true; } catch { return false; } });

test('the bridge lab on Vagrant machines grades seed 001 full marks, walls off the host, and leaves nothing behind', async () => {
  const runtimeDir = await mkdtemp(join(tmpdir(), 'netlab-e2e-vrt-'));
  const before = daemons();
  // A listener on every host address: the guest tries it through its management network's gateway.
  const server = createServer((s) => s.end('host says hello\n'));
  await new Promise<void>((r) => server.listen(0, '0.0.0.0', r));
  const port = (server.address() as { port: number }).port;
  const submission = join(await mkdtemp(join(tmpdir(), 'netlab-e2e-vsub-')), 'bridge.sh');
  writeFileSync(submission, readFileSync(join(repo, 'labs/bridge/solution/bridge.sh'), 'utf8') + `
# netlab test probe: the host's address on the management network (x.y.z.1) must not answer.
gw=$(ip -4 -o addr show eth0 | awk '{split($4, a, "."); print a[1] "." a[2] "." a[3] ".1"}')
if timeout 5 bash -c "exec 3<>/dev/tcp/$gw/${port}; head -1 <&3" 2>/dev/null; then echo "PROBE: host reachable at $gw"; else echo "PROBE: host unreachable at $gw"; fi
`);
  const out = await mkdtemp(join(tmpdir(), 'netlab-e2e-vagrant-'));
  // Whom libvirt runs the run's QEMU as, seen from the host while the lab runs: never root.
  const qemuUsers = new Set<string>();
  const watch = setInterval(() => {
    const ps = execFileSync('ps', ['-eo', 'user:32=,args='], { encoding: 'utf8' });
    for (const line of ps.split('\n')) if (/qemu-system\S*\s.*guest=nl[0-9a-f]{6}-/.test(line)) qemuUsers.add(line.trim().split(/\s+/)[0]!);
  }, 1000);
  const r = await runCli(['labs/bridge', '--backend', 'vagrant', '--submission', submission, '--out', out], { timeoutMs: 900_000, env: { NETLAB_RUNTIME_DIR: runtimeDir } })
    .finally(() => clearInterval(watch));
  server.close();
  assert.equal(r.exitCode, 0, r.all);
  assert.deepEqual([...qemuUsers], ['libvirt-qemu'], 'the machines\' QEMU ran as libvirt-qemu, not root');
  const result = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as { score: number; maxScore: number; setup: { phase: string; stdout: string }[] };
  assert.equal(result.score, 22);
  assert.equal(result.maxScore, 22);
  const probe = result.setup.find((c) => c.phase === 'submission')!.stdout;
  assert.match(probe, /PROBE: host unreachable at 10\.213\.\d+\.1/);

  // Nothing left: no domain, network or pool of a netlab run, no guard rule, no QEMU, no run folder,
  // and the libvirt daemons only if they ran before.
  assert.deepEqual(daemons(), before, 'libvirtd/virtlogd as before the run');
  if (before.length) assert.deepEqual(virsh('list', '--all', '--name').filter((n) => n.startsWith('nl')), []);
  // libvirt keeps defined domains, networks and pools as files, also while the daemon is down.
  const mine = (f: string) => /^nl[0-9a-f]{6}-/.test(f);
  for (const dir of ['/etc/libvirt/qemu', '/etc/libvirt/qemu/networks', '/etc/libvirt/storage', '/run/libvirt/network', '/var/log/libvirt/qemu', '/var/lib/libvirt/dnsmasq']) {
    assert.deepEqual(existsSync(dir) ? readdirSync(dir).filter(mine) : [], [], `${dir} holds nothing of the run`);
  }
  assert.doesNotMatch(execFileSync('iptables', ['-w', '-S', 'INPUT'], { encoding: 'utf8' }), /netlab-nl/);
  assert.deepEqual(processesNaming('qemu-system-x86_64', runtimeDir), []);
  assert.deepEqual(existsSync(runtimeDir) ? readdirSync(runtimeDir) : [], []);
});

test('netlab-run image box packs the image as a libvirt box and adds it to the user\'s Vagrant (here a temporary VAGRANT_HOME)', async () => {
  const home = await mkdtemp(join(tmpdir(), 'netlab-e2e-vhome-'));
  const r = await runCli(['image', 'box'], { timeoutMs: 300_000, env: { VAGRANT_HOME: home } });
  assert.equal(r.exitCode, 0, r.all);
  const name = /box: (netlab\/[0-9a-f]{16})/.exec(r.stdout)?.[1];
  assert.ok(name, r.stdout);
  const list = execFileSync('vagrant', ['box', 'list'], { env: { ...process.env, VAGRANT_HOME: home, VAGRANT_CHECKPOINT_DISABLE: '1' }, encoding: 'utf8' });
  assert.match(list, new RegExp(`^${name} \\(libvirt, `, 'm'));
  const [boxDir] = readdirSync(join(home, 'boxes'));
  const files = readdirSync(join(home, 'boxes', boxDir!, '0', 'libvirt')).sort();
  assert.deepEqual(files, ['Vagrantfile', 'box.img', 'id_ed25519', 'initrd.img', 'metadata.json', 'modules.img', 'vmlinux']);
  assert.deepEqual(JSON.parse(readFileSync(join(home, 'boxes', boxDir!, '0', 'libvirt', 'metadata.json'), 'utf8')), { provider: 'libvirt', format: 'qcow2', virtual_size: 2 });
  const other = await runCli(['image', 'box', '--provider', 'virtualbox']);
  assert.equal(other.exitCode, 2);
  assert.match(other.stderr, /libvirt provider only[\s\S]*docs\/vagrant\.md/);
});
