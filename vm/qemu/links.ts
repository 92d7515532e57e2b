import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { InfraError } from '../errors.ts';
import { macFor, type NicSpec } from './args.ts';
import { groupShared } from './machine.ts';
import { recordPid, type RunDir } from '../runtime.ts';
import { setTimeout as sleep } from 'node:timers/promises';

export interface LinkDef {
  name: string;
  machines: string[];
  mtu?: number;
}

export interface LinkPlan {
  /** NICs per machine, in eth1.. order. */
  nics: Map<string, NicSpec[]>;
  /** vde_switch processes to start before the VMs (segments of 3+ machines). */
  switches: { name: string; socketDir: string }[];
}

// L2 segments that never leave this machine: a two-machine link is a pair of unix datagram sockets
// (start order free, survives snapshots); a larger segment is a vde_switch on a unix socket.
export function planLinks(links: LinkDef[], runDir: string, labKey: string): LinkPlan {
  const nics = new Map<string, NicSpec[]>();
  const switches: LinkPlan['switches'] = [];
  const add = (machine: string, nic: NicSpec) => nics.set(machine, [...(nics.get(machine) ?? []), nic]);
  links.forEach((link, li) => {
    if (link.machines.length === 2) {
      const [a, b] = link.machines as [string, string];
      const pa = join(runDir, `l${li}-${a.slice(0, 8)}.sock`);
      const pb = join(runDir, `l${li}-${b.slice(0, 8)}-b.sock`);
      add(a, { link: link.name, mac: macFor(`${labKey}/${link.name}/${a}`), mtu: link.mtu, backend: { type: 'dgram', localPath: pa, remotePath: pb } });
      add(b, { link: link.name, mac: macFor(`${labKey}/${link.name}/${b}`), mtu: link.mtu, backend: { type: 'dgram', localPath: pb, remotePath: pa } });
    } else {
      const socketDir = join(runDir, `sw${li}`);
      switches.push({ name: link.name, socketDir });
      for (const m of link.machines) {
        add(m, { link: link.name, mac: macFor(`${labKey}/${link.name}/${m}`), mtu: link.mtu, backend: { type: 'vde', socketDir } });
      }
    }
  });
  return { nics, switches };
}

// Returns the process wrapped: an async function returning the (thenable) process would wait for it to exit.
export async function startSwitch(sw: { name: string; socketDir: string }, runDir: RunDir): Promise<{ process: ResultPromise }> {
  // Its sockets open to the set's QEMU group when the QEMUs drop to it (they send to the switch's).
  const child = execa('setpriv', ['--pdeathsig', 'KILL', '--', ...groupShared(runDir.identity !== undefined), 'vde_switch', '--sock', sw.socketDir], {
    // A pipe we never write keeps vde_switch's management console from reading EOF and quitting.
    stdin: 'pipe', reject: false, cleanup: true, buffer: false,
  });
  if (child.pid) await recordPid(runDir, `switch-${sw.name}`, child.pid);
  // vde_switch creates its control socket once ready to accept ports.
  const deadline = Date.now() + 5000;
  while (!existsSync(join(sw.socketDir, 'ctl'))) {
    if (Date.now() > deadline || child.exitCode !== null) {
      child.kill('SIGKILL');
      throw new InfraError(`vde_switch for segment ${sw.name} did not start`, { fix: 'apt-get install -y vde2' });
    }
    await sleep(50);
  }
  return { process: child };
}
