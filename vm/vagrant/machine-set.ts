// The Vagrant backend: the same lab machines, brought up by `vagrant up` (vagrant-libvirt, TCG here)
// and then reached with ssh2 exactly as the QEMU backend's are. Vagrant's state (VAGRANT_HOME,
// .vagrant) lives in the run folder; the boxes it needs come from netlab's own box store. Whatever
// happens, stop() (or the exit hook, or the next start's reaping) destroys every domain, volume,
// network, pool and firewall rule of the run, and the libvirt daemons if this process started them.
import { rmSync } from 'node:fs';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { InfraError } from '../errors.ts';
import { noEvents, type EventSink } from '../events.ts';
import type { LinkDef } from '../qemu/links.ts';
import {
  createMgmtNetwork, createPool, ensureLibvirt, prefixOfRun, removeLibvirtObjects, removeLibvirtObjectsSync,
  staleLibvirtPrefixes, stopLibvirtIfOurs, stopLibvirtIfOursSync, virsh,
} from './libvirt.ts';
import { freeUdpPort } from '../qemu/ports.ts';
import { lockParams, macFor, managementMac } from '../qemu/args.ts';
import { createRunDir, removeRunDir, runOwnerAlive, runtimeRoot, type RunDir } from '../runtime.ts';
import { SshMachine } from '../ssh/client.ts';
import type { BootStep, ImageInfo, KernelInfo, KernelLock, MachineEndpoint, MachineSet } from '../types.ts';
import { addBox, boxStore, ensureBoxFile, vagrantEnv } from './box.ts';
import { assertRuntimeReachable, libvirtQemuIdentity, stageBootFiles } from './qemu-access.ts';
import { runBootSteps } from '../boot-steps.ts';
import { domainName, parseSshConfig, vagrantfileFor, type VagrantMachinePlan } from './vagrantfile.ts';

export interface VagrantSetOptions {
  label: string;
  image: ImageInfo;
  machines: { name: string; memoryMb: number; cpus: number; kernel: KernelInfo; lock?: KernelLock; image?: ImageInfo; boot?: BootStep[] }[];
  links?: LinkDef[];
  onEvent?: EventSink;
  signal?: AbortSignal;
  /** For `vagrant up`, all machines together. Default 10 minutes. */
  upTimeoutMs?: number;
}

const live = new Set<VagrantSet>();
let liveRuns = 0;

process.on('exit', () => {
  for (const set of live) {
    removeLibvirtObjectsSync(set.prefix);
    try { rmSync(set.runDir.path, { recursive: true, force: true }); } catch { /* best effort */ }
  }
  if (live.size) stopLibvirtIfOursSync();
});

export class VagrantSet implements MachineSet {
  private stopped = false;
  private down = new Set<string>();
  private poller: NodeJS.Timeout;
  constructor(
    readonly runDir: RunDir,
    readonly prefix: string,
    private readonly env: Record<string, string>,
    private readonly booted: Map<string, { ssh: SshMachine; endpoint: MachineEndpoint; nics: { link: string; mac: string }[] }>,
    private readonly onEvent: EventSink,
  ) {
    live.add(this);
    liveRuns++;
    // A guest that powered itself off: libvirt lists it shut off (isDown is asked synchronously).
    this.poller = setInterval(() => { void this.refreshDown(); }, 1000);
    this.poller.unref();
  }

  get names(): string[] { return [...this.booted.keys()]; }
  endpoints(): MachineEndpoint[] { return [...this.booted.values()].map((b) => b.endpoint); }
  nics(name: string) { return this.booted.get(name)?.nics ?? []; }
  isDown(name: string): boolean { return this.down.has(name) || !this.booted.has(name); }

  private async refreshDown(): Promise<void> {
    const r = await virsh(['list', '--name', '--state-running'], { reject: false });
    if (r.exitCode !== 0) return;
    const running = new Set(r.stdout.split('\n').map((l) => l.trim()));
    for (const n of this.names) if (!running.has(domainName(this.prefix, n))) this.down.add(n);
  }

  async killMachine(name: string): Promise<void> {
    const b = this.booted.get(name);
    if (!b) return;
    await b.ssh.close().catch(() => {});
    await virsh(['destroy', domainName(this.prefix, name)], { reject: false });
    this.down.add(name);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.poller);
    await Promise.all([...this.booted.values()].map((b) => b.ssh.close().catch(() => {})));
    await execa('vagrant', ['destroy', '-f'], { cwd: this.runDir.path, env: this.env, reject: false, timeout: 120_000 });
    for (const n of this.names) this.onEvent({ type: 'machine-stop', machine: n });
    await teardown(this.prefix, this.runDir);
    live.delete(this);
    if (--liveRuns === 0) await stopLibvirtIfOurs();
  }
}

async function teardown(prefix: string, runDir: RunDir): Promise<void> {
  await removeLibvirtObjects(prefix).catch(() => {});
  await removeRunDir(runDir).catch(() => {});
}

// Two-machine links become UDP tunnels on 127.0.0.1 (QEMU's -netdev socket,udp through libvirt);
// a segment of three or more machines has no such tunnel.
export async function planVagrantNics(links: LinkDef[], labKey: string): Promise<Map<string, { link: string; mac: string; localPort: number; peerPort: number }[]>> {
  const nics = new Map<string, { link: string; mac: string; localPort: number; peerPort: number }[]>();
  const add = (m: string, nic: { link: string; mac: string; localPort: number; peerPort: number }) => nics.set(m, [...(nics.get(m) ?? []), nic]);
  for (const link of links) {
    if (link.machines.length !== 2) {
      throw new InfraError(`link ${link.name} joins ${link.machines.length} machines; the Vagrant backend links exactly two (a UDP tunnel)`, { fix: 'run this lab with the QEMU backend (the default), or split the segment into two-machine links' });
    }
    const [a, b] = link.machines as [string, string];
    const [pa, pb] = [await freeUdpPort(), await freeUdpPort()];
    add(a, { link: link.name, mac: macFor(`${labKey}/${link.name}/${a}`), localPort: pa, peerPort: pb });
    add(b, { link: link.name, mac: macFor(`${labKey}/${link.name}/${b}`), localPort: pb, peerPort: pa });
  }
  return nics;
}

async function reapStaleVagrantRuns(emit: EventSink): Promise<void> {
  for (const prefix of await staleLibvirtPrefixes(runtimeRoot(), runOwnerAlive)) {
    await removeLibvirtObjects(prefix);
    emit({ type: 'cleanup', message: `removed the libvirt domains, network and pool of a killed Vagrant run (${prefix})` });
  }
}

export async function startVagrantSet(opts: VagrantSetOptions): Promise<VagrantSet> {
  const emit = opts.onEvent ?? noEvents;
  await ensureLibvirt();
  liveRuns++; // holds the daemons while this set starts
  try {
    return await startUnguarded(opts, emit);
  } finally {
    if (--liveRuns === 0) await stopLibvirtIfOurs();
  }
}

async function startUnguarded(opts: VagrantSetOptions, emit: EventSink): Promise<VagrantSet> {
  await reapStaleVagrantRuns(emit);
  // One box per set (the box is the image): machines that need different packages cannot share it.
  const own = opts.machines.find((m) => m.image && m.image.recipeHash !== opts.image.recipeHash);
  if (own) {
    throw new InfraError(`machine ${own.name} needs other packages than the rest of its lab (lab.yaml packages), and the Vagrant backend boots one box per lab`,
      { fix: 'run the lab with the QEMU backend (the default), or give every machine of the lab the same packages' });
  }
  // One box per image: the kernel each machine boots is named in the run's Vagrantfile.
  const box = await ensureBoxFile(opts.image, opts.machines[0]!.kernel, emit);
  await addBox(box, boxStore());
  assertRuntimeReachable(runtimeRoot());
  // libvirt-qemu's group may enter the run folder (setgid: what is made inside is that group's).
  const runDir = await createRunDir('nl', libvirtQemuIdentity());
  const prefix = prefixOfRun(runDir.id);
  const home = join(runDir.path, 'vagrant.d');
  const booted = new Map<string, { ssh: SshMachine; endpoint: MachineEndpoint; nics: { link: string; mac: string }[] }>();
  const env = vagrantEnv(home, { VAGRANT_CWD: runDir.path, VAGRANT_DOTFILE_PATH: join(runDir.path, '.vagrant') });
  try {
    await mkdir(home);
    await symlink(join(boxStore(), 'boxes'), join(home, 'boxes'));
    await mkdir(join(runDir.path, 'pool'));
    await createPool(prefix, join(runDir.path, 'pool'));
    const nics = await planVagrantNics(opts.links ?? [], `${opts.label}/${runDir.id}`);
    const boot = await stageBootFiles(runDir.path, opts.machines.map((m) => m.kernel));
    const machines: VagrantMachinePlan[] = opts.machines.map((m, i) => ({
      name: m.name, memoryMb: m.memoryMb, cpus: m.cpus, ...boot.get(m.kernel.kernel)!,
      mgmtMac: managementMac().replace(/:01$/, `:${(i + 1).toString(16).padStart(2, '0')}`),
      nics: (nics.get(m.name) ?? []).map((n) => ({ mac: n.mac, localPort: n.localPort, peerPort: n.peerPort })),
      params: lockParams(m.lock),
    }));
    const net = await createMgmtNetwork(prefix, runDir.path, machines.map((m) => ({ mac: m.mgmtMac, name: m.name })));
    await writeFile(join(runDir.path, 'Vagrantfile'), vagrantfileFor({
      prefix, runDir: runDir.path, box: box.name, sshKey: opts.image.sshKey, mgmtSubnet: net.subnet, machines,
    }));
    for (const m of opts.machines) emit({ type: 'boot-start', machine: m.name, attempt: 1 });
    const started = Date.now();
    await vagrantUp(runDir.path, env, opts, emit);
    const hosts = parseSshConfig((await execa('vagrant', ['ssh-config'], { cwd: runDir.path, env, timeout: 120_000 })).stdout);
    for (const m of opts.machines) {
      const h = hosts.find((x) => x.host === m.name);
      if (!h?.hostName) throw new InfraError(`vagrant ssh-config names no address for ${m.name}`);
      const endpoint: MachineEndpoint = {
        name: m.name, host: h.hostName, port: h.port, user: 'root', privateKeyPath: opts.image.sshKey,
        hostPublicKey: opts.image.hostPublicKey, kernelVersion: m.kernel.version,
      };
      const ssh = await SshMachine.connect(endpoint, { timeoutMs: 60_000, signal: opts.signal });
      booted.set(m.name, { ssh, endpoint, nics: [] });
      await runBootSteps(m.name, ssh, m.boot ?? [], emit, opts.signal);
      booted.set(m.name, { ssh, endpoint, nics: (nics.get(m.name) ?? []).map((n) => ({ link: n.link, mac: n.mac })) });
      emit({ type: 'boot-ready', machine: m.name, ms: Date.now() - started });
    }
    return new VagrantSet(runDir, prefix, env, booted, emit);
  } catch (err) {
    // A boot step that failed leaves open sessions to machines about to be destroyed.
    await Promise.all([...booted.values()].map((b) => b.ssh.close().catch(() => {})));
    await execa('vagrant', ['destroy', '-f'], { cwd: runDir.path, env, reject: false, timeout: 120_000 });
    await teardown(prefix, runDir);
    throw err;
  }
}

// `vagrant up` with its progress as boot lines; a failure carries Vagrant's last words.
async function vagrantUp(cwd: string, env: Record<string, string>, opts: VagrantSetOptions, emit: EventSink): Promise<void> {
  const child = execa('vagrant', ['up', '--provider', 'libvirt', '--parallel'], {
    cwd, env, reject: false, all: true, timeout: opts.upTimeoutMs ?? 600_000, cancelSignal: opts.signal, forceKillAfterDelay: 5000,
  });
  const tail: string[] = [];
  child.all?.setEncoding('utf8');
  let buf = '';
  child.all?.on('data', (chunk: string) => {
    buf += chunk.replace(/\r/g, '\n');
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i).replace(/\u001b\[[0-9;]*[A-Za-z]/g, '').trim();
      buf = buf.slice(i + 1);
      if (!line || line.startsWith('Progress:')) continue;
      tail.push(line);
      if (tail.length > 8) tail.shift();
      const m = /^==> ([^:]+): (.*)$/.exec(line);
      emit({ type: 'boot-line', machine: m?.[1] ?? 'vagrant', line: m?.[2] ?? line });
    }
  });
  const r = await child;
  if (r.exitCode !== 0) {
    throw new InfraError(`vagrant up failed${r.timedOut ? ' (timed out)' : ''}: ${tail.slice(-4).join(' | ')}`, { fix: 'run with -v to see every line of vagrant up; scripts/setup-vagrant.sh prepares this machine' });
  }
}

/** Destroy every Vagrant set still running in this process (signal handlers, crash paths). */
export async function stopAllVagrantSets(): Promise<void> {
  await Promise.all([...live].map((s) => s.stop().catch(() => {})));
}
