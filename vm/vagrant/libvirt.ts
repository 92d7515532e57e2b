// libvirt for the Vagrant backend: the daemons (started by us when none runs, and stopped again),
// a run's isolated management network with a host firewall guard, its storage pool, and removal of
// every object of a run by name prefix (also for runs whose netlab-run was killed).
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { InfraError } from '../errors.ts';
import { findTool } from '../build/host-tools.ts';
import { processAlive } from '../runtime.ts';
import { setTimeout as sleep } from 'node:timers/promises';

export const LIBVIRT_URI = 'qemu:///system';
/** Every libvirt object of a netlab run is named `nl<run-hex>...`. */
export const OBJECT_PREFIX = 'nl';
const SETUP_FIX = 'bash scripts/setup-vagrant.sh (installs Vagrant, vagrant-libvirt and libvirt; see docs/vagrant.md)';

export function virsh(args: string[], opts: { reject?: boolean } = {}) {
  return execa('virsh', ['-q', '-c', LIBVIRT_URI, ...args], { reject: opts.reject ?? true, timeout: 60_000 });
}

async function answers(): Promise<boolean> {
  const r = await execa('virsh', ['-c', LIBVIRT_URI, 'version'], { reject: false, timeout: 10_000 });
  return r.exitCode === 0;
}

let startedDaemons: number[] | undefined;

// libvirtd as a plain daemon (no systemd here): if none answers, start virtlogd and libvirtd and
// remember it, so stopLibvirtIfOurs() leaves the machine as it was.
export async function ensureLibvirt(): Promise<void> {
  if (await answers()) return;
  const paths = new Map<string, string>();
  for (const bin of ['libvirtd', 'virtlogd', 'virsh', 'vagrant']) {
    const found = findTool(bin);
    if (!found) throw new InfraError(`the Vagrant backend needs ${bin}, which is not installed`, { fix: SETUP_FIX });
    paths.set(bin, found);
  }
  const pids: number[] = [];
  for (const d of ['virtlogd', 'libvirtd']) {
    if (daemonPid(d)) continue;
    // Its own children (dnsmasq, iptables) live in sbin, which a user's PATH may lack.
    const r = await execa(paths.get(d)!, ['-d'], { reject: false, timeout: 30_000, env: { PATH: `${process.env.PATH}:/usr/sbin:/sbin` } });
    if (r.exitCode !== 0) throw new InfraError(`${d} did not start: ${(r.stderr || r.stdout).trim().split('\n').pop()}`, { fix: SETUP_FIX });
  }
  const deadline = Date.now() + 20_000;
  while (!(await answers())) {
    if (Date.now() > deadline) throw new InfraError('libvirtd started but does not answer on qemu:///system', { fix: SETUP_FIX });
    await sleep(200);
  }
  for (const d of ['libvirtd', 'virtlogd']) { const p = daemonPid(d); if (p) pids.push(p); }
  startedDaemons = pids;
}

function daemonPid(name: string): number | undefined {
  for (const f of [`/run/libvirt/${name}.pid`, `/run/${name}.pid`]) {
    try {
      const pid = Number(readFileSync(f, 'utf8').trim());
      if (pid > 0 && processAlive(pid)) return pid;
    } catch { /* not this file */ }
  }
  return undefined;
}

/** Stops the daemons ensureLibvirt() started (libvirtd first), waiting until they are gone. */
export async function stopLibvirtIfOurs(): Promise<void> {
  const pids = startedDaemons ?? [];
  startedDaemons = undefined;
  for (const pid of pids) {
    try { process.kill(pid, 'SIGTERM'); } catch { continue; }
    for (let i = 0; i < 100 && processAlive(pid); i++) await sleep(100);
    try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
  }
}

export function stopLibvirtIfOursSync(): void {
  for (const pid of startedDaemons ?? []) { try { process.kill(pid, 'SIGTERM'); } catch { /* gone */ } }
  startedDaemons = undefined;
}

// ---------------------------------------------------------------------------------------------
// A run's management network: isolated (no <forward>), DHCP from libvirt's dnsmasq, and a guard
// on the host so the guests reach nothing of the host but DHCP (QEMU's restrict=on, for libvirt).

export interface MgmtNetwork { name: string; bridge: string; subnet: string; gateway: string }

const claimed = new Set<number>();
const subnetOf = new Map<string, number>();

// A free 10.213.N.0/24: not routed on this host (another run's network) and not claimed here.
async function freeSubnet(): Promise<number> {
  const routes = (await execa('ip', ['-4', 'route', 'show'], { reject: false })).stdout;
  for (let n = 1; n < 255; n++) {
    if (claimed.has(n) || routes.includes(`10.213.${n}.0/24`)) continue;
    claimed.add(n);
    return n;
  }
  throw new InfraError('no free 10.213.N.0/24 subnet for a management network (254 runs at once?)');
}

// Each guest's address is fixed by its MAC, dnsmasq answers at once (no-ping: it would otherwise
// probe an address for 3 s first, and two guests booting together time out), and no DNS.
export async function createMgmtNetwork(prefix: string, runDir: string, hosts: { mac: string; name: string }[]): Promise<MgmtNetwork> {
  const n = await freeSubnet();
  subnetOf.set(prefix, n);
  const net: MgmtNetwork = { name: `${prefix}-mgmt`, bridge: `${prefix}br`.slice(0, 15), subnet: `10.213.${n}.0/24`, gateway: `10.213.${n}.1` };
  const xml = `<network xmlns:dnsmasq='http://libvirt.org/schemas/network/dnsmasq/1.0'>
  <name>${net.name}</name>
  <bridge name='${net.bridge}' stp='off' delay='0'/>
  <dns enable='no'/>
  <ip address='${net.gateway}' netmask='255.255.255.0'>
    <dhcp>
      <range start='10.213.${n}.100' end='10.213.${n}.250'/>
${hosts.map((h, i) => `      <host mac='${h.mac}' name='${h.name}' ip='10.213.${n}.${11 + i}'/>`).join('\n')}
    </dhcp>
  </ip>
  <dnsmasq:options><dnsmasq:option value='no-ping'/></dnsmasq:options>
</network>
`;
  const file = join(runDir, 'mgmt-network.xml');
  await writeFile(file, xml);
  await virsh(['net-define', file]);
  await virsh(['net-start', net.name]);
  await guardHost(net, prefix);
  return net;
}

const comment = (prefix: string) => `netlab-${prefix}`;

// From the guests' side of the bridge only DHCP and replies to the host's own connections (SSH)
// get in; IPv6 is off on the bridge, so no link-local path around the rules.
async function guardHost(net: MgmtNetwork, prefix: string): Promise<void> {
  const tag = ['-m', 'comment', '--comment', comment(prefix)];
  const rules = [
    ['-i', net.bridge, ...tag, '-j', 'DROP'],
    ['-i', net.bridge, '-p', 'udp', '--dport', '67', ...tag, '-j', 'ACCEPT'],
    ['-i', net.bridge, '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', ...tag, '-j', 'ACCEPT'],
  ];
  // Inserted at the top in reverse, so they read in order: established, DHCP, drop.
  for (const r of rules) await execa('iptables', ['-w', '-I', 'INPUT', '1', ...r]);
  await writeFile(`/proc/sys/net/ipv6/conf/${net.bridge}/disable_ipv6`, '1').catch(() => {});
}

export async function createPool(prefix: string, dir: string): Promise<void> {
  await virsh(['pool-define-as', prefix, 'dir', '--target', dir]);
  await virsh(['pool-build', prefix]);
  await virsh(['pool-start', prefix]);
}

// ---------------------------------------------------------------------------------------------
// Removal by prefix: domains (with their volumes), the pool, the network, the firewall guard.

export async function removeLibvirtObjects(prefix: string): Promise<void> {
  for (const cmd of removalCommands(prefix, await listObjects())) await execa(cmd[0]!, cmd.slice(1), { reject: false, timeout: 60_000 });
  await removeGuard(prefix);
  removeLibvirtFiles(prefix);
  const n = subnetOf.get(prefix);
  if (n !== undefined) { claimed.delete(n); subnetOf.delete(prefix); }
}

// What libvirtd keeps of an object after it is gone: a stopped network's state folder and dnsmasq
// pid file, a domain's QEMU log.
const LEFTOVER_DIRS = ['/run/libvirt/network', '/var/log/libvirt/qemu', '/var/lib/libvirt/dnsmasq'];

function removeLibvirtFiles(prefix: string): void {
  for (const dir of LEFTOVER_DIRS) {
    let entries: string[] = [];
    try { entries = readdirSync(dir); } catch { continue; }
    for (const e of entries) if (e.startsWith(`${prefix}-`)) rmSync(join(dir, e), { recursive: true, force: true });
  }
}

export function removeLibvirtObjectsSync(prefix: string): void {
  let objects: LibvirtObjects;
  try { objects = listObjectsSync(); } catch { return; }
  for (const cmd of removalCommands(prefix, objects)) {
    try { execFileSync(cmd[0]!, cmd.slice(1), { stdio: 'ignore', timeout: 30_000 }); } catch { /* best effort */ }
  }
  for (const rule of guardRules(prefix, iptablesRulesSync())) {
    try { execFileSync('iptables', ['-w', '-D', ...rule], { stdio: 'ignore' }); } catch { /* gone */ }
  }
  try { removeLibvirtFiles(prefix); } catch { /* best effort */ }
}

interface LibvirtObjects { domains: string[]; networks: string[]; pools: string[] }

const names = (out: string) => out.split('\n').map((l) => l.trim()).filter(Boolean);

async function listObjects(): Promise<LibvirtObjects> {
  const [d, n, p] = await Promise.all([
    virsh(['list', '--all', '--name'], { reject: false }), virsh(['net-list', '--all', '--name'], { reject: false }), virsh(['pool-list', '--all', '--name'], { reject: false }),
  ]);
  return { domains: names(d.stdout), networks: names(n.stdout), pools: names(p.stdout) };
}

function listObjectsSync(): LibvirtObjects {
  const run = (args: string[]) => names(execFileSync('virsh', ['-q', '-c', LIBVIRT_URI, ...args], { encoding: 'utf8', timeout: 10_000 }));
  return { domains: run(['list', '--all', '--name']), networks: run(['net-list', '--all', '--name']), pools: run(['pool-list', '--all', '--name']) };
}

export function removalCommands(prefix: string, o: LibvirtObjects): string[][] {
  const v = (...args: string[]) => ['virsh', '-q', '-c', LIBVIRT_URI, ...args];
  const mine = (name: string) => name === prefix || name.startsWith(`${prefix}-`);
  return [
    ...o.domains.filter(mine).flatMap((d) => [v('destroy', d), v('undefine', d, '--nvram', '--remove-all-storage')]),
    // The pool's folder (the box volume, overlays) lies in the run folder, removed with it.
    ...o.pools.filter(mine).flatMap((p) => [v('pool-destroy', p), v('pool-undefine', p)]),
    ...o.networks.filter(mine).flatMap((n) => [v('net-destroy', n), v('net-undefine', n)]),
  ];
}

function guardRules(prefix: string, rules: string[]): string[][] {
  return rules.filter((r) => r.startsWith('-A INPUT ') && r.includes(`--comment ${comment(prefix)}`))
    .map((r) => r.replace(/^-A /, '').split(' '));
}

function iptablesRulesSync(): string[] {
  try { return execFileSync('iptables', ['-w', '-S', 'INPUT'], { encoding: 'utf8' }).split('\n'); } catch { return []; }
}

async function removeGuard(prefix: string): Promise<void> {
  const out = (await execa('iptables', ['-w', '-S', 'INPUT'], { reject: false })).stdout.split('\n');
  for (const rule of guardRules(prefix, out)) await execa('iptables', ['-w', '-D', ...rule], { reject: false });
}

/** A run folder `nl-3fa2c1` names its libvirt objects `nl3fa2c1...`. */
export function prefixOfRun(runId: string): string { return runId.replace('-', ''); }
export function runOfPrefix(prefix: string): string { return `${OBJECT_PREFIX}-${prefix.slice(OBJECT_PREFIX.length)}`; }

/** Prefixes of netlab objects in libvirt whose run folder is gone or whose owner died. */
export async function staleLibvirtPrefixes(runtimeRoot: string, live: (runDir: string) => boolean): Promise<string[]> {
  if (!(await answers())) return [];
  const o = await listObjects();
  const prefixes = new Set([...o.domains, ...o.networks, ...o.pools]
    .filter((n) => /^nl[0-9a-f]{6}(-|$)/.test(n))
    .map((n) => n.split('-')[0]!));
  return [...prefixes].filter((p) => {
    const dir = join(runtimeRoot, runOfPrefix(p));
    return !existsSync(dir) || !live(dir);
  });
}
