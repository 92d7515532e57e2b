// The VM engine on its own (no runner): real QEMU guests, real SSH, links between guests, cleanup.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureImage } from '../../vm/build/image.ts';
import { ensureKernel } from '../../vm/build/kernel.ts';
import { InfraError } from '../../vm/errors.ts';
import { startVmSet } from '../../vm/qemu/machine-set.ts';
import { decodePcap } from '../../reports/pcap.ts';
import { succeed } from '../helpers/wait.ts';
import { bootMachines } from '../helpers/vms.ts';
import { alive, processesNaming, qemuPidsUnder } from '../helpers/processes.ts';

// A comma and a space in the runtime folder: QEMU option lists (-drive, -qmp, -netdev dgram, the RAM
// file of a snapshot's cold boot) must carry such paths whole.
process.env.NETLAB_RUNTIME_DIR = await mkdtemp(join(tmpdir(), 'netlab-engine, rt-'));
const runtime = process.env.NETLAB_RUNTIME_DIR;

test('one machine: ip -br link over SSH, exec results, SFTP both ways, and nothing left after stop', async () => {
  const set = await bootMachines(['solo']);
  const pids = set.qemuPids();
  try {
    // QEMU runs under seccomp and, when netlab-run is root, as a user and group of its own (ids of no
    // account, its own group only): a guest that escapes the emulator holds no privileges.
    const status = readFileSync(`/proc/${pids[0]}/status`, 'utf8');
    assert.match(status, /^Seccomp:\s+2$/m);
    if (process.getuid?.() === 0) {
      const ids = (field: string) => new RegExp(`^${field}:\\s+(\\d+)\\s+(\\d+)\\s+(\\d+)\\s+(\\d+)`, 'm').exec(status)!.slice(1).map(Number);
      const [uid] = ids('Uid');
      assert.ok(uid! >= 1_900_000_000, `uid ${uid}`);
      assert.deepEqual([...ids('Uid'), ...ids('Gid')], Array(8).fill(uid), status);
      assert.match(status, new RegExp(`^Groups:\\s+${uid}\\s*$`, 'm'), 'only its own group');
    }
    const m = set.machine('solo');
    const r = await m.exec('ip -br link');
    assert.equal(r.exitCode, 0);
    assert.match(r.stdout, /^lo\s+UNKNOWN/m);
    assert.match(r.stdout, /^eth0\s+UP/m);
    assert.equal((await m.exec('hostname')).stdout.trim(), 'solo');
    // No HPET (its tick kept QEMU's main loop busy while the guest idled): the clock is the TSC.
    const clocks = (await m.exec('cd /sys/devices/system/clocksource/clocksource0 && cat current_clocksource available_clocksource')).stdout;
    assert.match(clocks, /^tsc\n/);
    assert.doesNotMatch(clocks, /hpet/);
    // Commands run in the static bash (a fast start under emulation), root's login shell, which is what
    // dropbear puts in SHELL.
    assert.equal((await m.exec('echo "$(readlink /proc/$$/exe) $SHELL $BASH_VERSION"')).stdout.trim().replace(/\(.*$/, ''), '/usr/bin/bash-static /bin/bash-static 5.2.15');
    const fail = await m.exec('echo out; echo err >&2; exit 3');
    assert.deepEqual([fail.exitCode, fail.stdout, fail.stderr], [3, 'out\n', 'err\n']);
    const slow = await m.exec('sleep 31 & sleep 30', { timeout: 1000 });
    assert.equal(slow.timedOut, true);
    assert.equal((await m.exec('pgrep -f "sleep 3[01]"')).exitCode, 1, 'the timed-out command and its background job are gone');
    // A command that ends in time leaves what it started in the background alone, past its deadline too.
    assert.equal((await m.exec('(sleep 33 >/dev/null 2>&1 &); true', { timeout: 500 })).exitCode, 0);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal((await m.exec('pgrep -f "sleep 33"')).exitCode, 0, 'the background job outlived its deadline');
    const dir = await mkdtemp(join(tmpdir(), 'netlab-sftp-'));
    await writeFile(join(dir, 'up.txt'), '你好, bridge\n');
    await m.upload(join(dir, 'up.txt'), '/root/up.txt');
    assert.equal((await m.exec('cat /root/up.txt')).stdout, '你好, bridge\n');
    await m.download('/etc/hostname', join(dir, 'down.txt'));
    assert.equal((await readFile(join(dir, 'down.txt'), 'utf8')).trim(), 'solo');
    // The kernel was locked before NETLAB-READY: the lab's modules are loaded, and loading any other
    // (br_netfilter is left out by default) is refused for good, to root too.
    await succeed(m, 'for mod in bridge veth vxlan macvlan nf_nat nf_tables; do [ -d /sys/module/$mod ] || { echo $mod; exit 1; }; done');
    assert.equal((await succeed(m, 'cat /proc/sys/kernel/modules_disabled /proc/sys/kernel/kexec_load_disabled /proc/sys/kernel/yama/ptrace_scope')).split('\n').join(' ').trim(), '1 1 3');
    const refused = await m.exec('modprobe br_netfilter');
    assert.notEqual(refused.exitCode, 0);
    assert.match(refused.stderr, /Operation not permitted/);
  } finally {
    await set.stop();
  }
  assert.ok(pids.length === 1 && !alive(pids[0]!), 'qemu is gone');
  assert.equal(existsSync(set.runDir.path), false, 'run folder removed');
});

test('two machines on a segment: ARP, ping, VXLAN on UDP 4789, MTU as configured', async () => {
  const set = await bootMachines(['a', 'b'], [{ name: 'underlay', machines: ['a', 'b'], mtu: 1400 }]);
  try {
    const a = set.machine('a');
    const b = set.machine('b');
    assert.match(await succeed(a, 'cat /sys/class/net/eth1/mtu'), /^1400/);
    await succeed(a, 'ip link set eth1 up && ip addr add 192.168.56.11/24 dev eth1');
    await succeed(b, 'ip link set eth1 up && ip addr add 192.168.56.12/24 dev eth1');
    // b's side of the link recorded on the host (QEMU's filter-dump), outside the guest: b's own
    // capture programs and files play no part, so b removing tcpdump changes nothing.
    await set.startNicCapture('b', 0, 'wire');
    await succeed(b, 'rm -f /usr/bin/tcpdump /usr/sbin/tcpdump');
    assert.match(await succeed(a, 'ping -c 2 -W 2 192.168.56.12'), /2 received/);
    const wire = await set.stopNicCapture('b', 'wire');
    assert.equal(wire.file, set.nicCaptureFile('b', 'wire'));
    const icmp = await decodePcap(wire.file, { filter: 'icmp' });
    assert.equal(icmp.packetCount, 4, JSON.stringify(icmp.packets));
    assert.ok(icmp.packets.some((p) => /192\.168\.56\.11 > 192\.168\.56\.12: ICMP echo request/.test(p.summary)), JSON.stringify(icmp.packets));
    assert.ok(icmp.packets.some((p) => /192\.168\.56\.12 > 192\.168\.56\.11: ICMP echo reply/.test(p.summary)), JSON.stringify(icmp.packets));
    assert.match(await succeed(a, 'ip neigh show 192.168.56.12'), /lladdr/);
    const vx = (local: string, remote: string, inner: string) =>
      `ip link add vxlan256 type vxlan id 256 remote ${remote} local ${local} dstport 4789 dev eth1 && ip addr add ${inner}/24 dev vxlan256 && ip link set vxlan256 up`;
    await succeed(a, vx('192.168.56.11', '192.168.56.12', '10.200.0.1'));
    await succeed(b, vx('192.168.56.12', '192.168.56.11', '10.200.0.2'));
    // Watch the underlay on a's guest (b no longer has tcpdump) while a pings through the tunnel.
    await succeed(a, '(timeout 20 tcpdump -i eth1 -nn -c 4 udp port 4789 > /tmp/vx.txt 2>/dev/null &) ; sleep 1');
    assert.match(await succeed(a, 'ping -c 3 -W 2 10.200.0.2'), /3 received/);
    const seen = await succeed(a, 'for i in $(seq 20); do [ $(wc -l < /tmp/vx.txt) -ge 4 ] && break; sleep 0.5; done; cat /tmp/vx.txt');
    assert.ok(seen.split('\n').filter((l) => /192\.168\.56\.1[12]\.\d+ > 192\.168\.56\.1[12]\.4789: VXLAN/.test(l)).length >= 4, seen);
  } finally {
    await set.stop();
  }
});

test('a machine that fails to boot tears down its healthy siblings: no qemu left (checked by PID)', async () => {
  const image = await ensureImage();
  const good = await ensureKernel('debian:bookworm');
  const broken = { ...good, initrd: join(tmpdir(), 'no-such-initrd.img') };
  const seen: number[] = [];
  const timer = setInterval(() => seen.push(...qemuPidsUnder(runtime).filter((p) => !seen.includes(p))), 100);
  await assert.rejects(startVmSet({
    label: 'broken', image, accel: 'tcg',
    machines: [{ name: 'ok', memoryMb: 256, cpus: 1, kernel: good }, { name: 'bad', memoryMb: 256, cpus: 1, kernel: broken }],
  }), (err) => err instanceof InfraError && /bad/.test(err.message));
  clearInterval(timer);
  assert.ok(seen.length >= 1, 'the healthy machine had started');
  assert.deepEqual(seen.filter(alive), []);
  assert.deepEqual(qemuPidsUnder(runtime), []);
});

test('three machines on one segment share a switch (vde_switch) and reach each other', async () => {
  const set = await bootMachines(['x', 'y', 'z'], [{ name: 'lan', machines: ['x', 'y', 'z'] }]);
  try {
    const names = ['x', 'y', 'z'];
    for (const [i, n] of names.entries()) await succeed(set.machine(n), `ip link set eth1 up && ip addr add 192.168.88.${i + 1}/24 dev eth1`);
    assert.match(await succeed(set.machine('x'), 'ping -c 1 -W 2 192.168.88.2 && ping -c 1 -W 2 192.168.88.3'), /1 received[\s\S]*1 received/);
    assert.match(await succeed(set.machine('z'), 'ping -c 1 -W 2 192.168.88.2'), /1 received/);
  } finally {
    await set.stop();
  }
  assert.deepEqual(qemuPidsUnder(runtime), []);
  assert.deepEqual(processesNaming('vde_switch', runtime), [], 'the switch is gone too');
});
