import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { runtimeRoot } from '../../vm/runtime.ts';
import type { MachineEndpoint } from '../../vm/types.ts';
import { UsageError } from '../errors.ts';

// Finds the machines of a lab that a live run (e.g. one started with --keep) holds.
export async function findLiveEndpoints(labName: string): Promise<MachineEndpoint[] | undefined> {
  const root = runtimeRoot();
  if (!existsSync(root)) return undefined;
  for (const id of await readdir(root)) {
    try {
      const info = JSON.parse(await readFile(join(root, id, 'lab.json'), 'utf8')) as { lab: string; endpoints: MachineEndpoint[] };
      const owner = Number((await readFile(join(root, id, 'owner.pid'), 'utf8')).split(' ')[0]);
      if (info.lab === labName && existsSync(`/proc/${owner}`)) return info.endpoints;
    } catch { /* not a finished run folder */ }
  }
  return undefined;
}

export function sshCommand(ep: MachineEndpoint, knownHosts: string): string[] {
  return ['ssh', '-i', ep.privateKeyPath, '-p', String(ep.port), '-o', `UserKnownHostsFile=${knownHosts}`,
    '-o', 'StrictHostKeyChecking=yes', '-o', 'LogLevel=ERROR', `${ep.user}@${ep.host}`];
}

export async function knownHostsFile(dir: string, eps: MachineEndpoint[]): Promise<string> {
  const file = join(dir, 'known_hosts');
  await writeFile(file, eps.map((ep) => `[${ep.host}]:${ep.port} ${ep.hostPublicKey.split(' ').slice(0, 2).join(' ')}`).join('\n') + '\n');
  return file;
}

/** An interactive shell on one machine, the terminal handed straight to OpenSSH. */
export async function openShell(eps: MachineEndpoint[], machine: string | undefined, command: string[] = []): Promise<number> {
  const ep = machine ? eps.find((e) => e.name === machine) : eps[0];
  if (!ep) throw new UsageError(`no machine named ${machine}`, `machines of this lab: ${eps.map((e) => e.name).join(', ')}`);
  const dir = await mkdtemp(join(tmpdir(), 'netlab-shell-'));
  try {
    const kh = await knownHostsFile(dir, eps);
    const [bin, ...args] = sshCommand(ep, kh);
    const r = await execa(bin!, [...args, ...(process.stdin.isTTY ? ['-t'] : []), ...command], { stdio: 'inherit', reject: false });
    return r.exitCode ?? 1;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
