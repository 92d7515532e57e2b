import type { RunResult } from '../../reports/model.ts';
import type { Lab } from './schema.ts';

// NIC names follow the order links list a machine: eth0 is management, eth1 the first lab link.
export function labNics(lab: Lab): Map<string, { name: string; link: string; address?: string }[]> {
  const out = new Map<string, { name: string; link: string; address?: string }[]>();
  for (const m of Object.keys(lab.machines)) out.set(m, []);
  for (const link of lab.links) {
    for (const m of link.machines) {
      const list = out.get(m) ?? [];
      list.push({ name: `eth${list.length + 1}`, link: link.name, address: link.addresses?.[m] });
      out.set(m, list);
    }
  }
  return out;
}

export function topologyOf(lab: Lab, macs: Record<string, { name: string; mac: string }[]> = {}): RunResult['topology'] {
  const nics = labNics(lab);
  return {
    machines: Object.keys(lab.machines).map((name) => ({
      name,
      interfaces: [
        { name: 'eth0', link: 'management (SSH)' },
        ...(nics.get(name) ?? []).map((n) => ({ ...n, mac: macs[name]?.find((x) => x.name === n.name)?.mac })),
      ],
    })),
    links: lab.links.map((l) => ({ name: l.name, machines: l.machines, mtu: l.mtu })),
  };
}
