// Draws a run's topology as an inline SVG: machines as boxes in a row, their interfaces as ports on
// the bottom edge, each link as a coloured bus bar below, labelled with its name and MTU.
// Pure function of the data, no layout engine: a lab has a handful of machines and links.
import { esc } from './html-escape.ts';
import type { RunResult, TopologyMachine } from './model.ts';

type Topology = RunResult['topology'];

const PALETTE = ['#2563eb', '#d97706', '#7c3aed', '#0891b2', '#db2777', '#65a30d', '#dc2626', '#475569'];
const PAD = 20;
const BOX_H = 40;
const BOX_GAP = 36;
const PORT_GAP = 118;
const LABEL_H = 40; // room under a box for a port's name and address
const BOX_BOTTOM = PAD + BOX_H;
const BAR_GAP = 34;
const MONO_W = 6.7; // width of one 11px monospace character
const NAME_W = 8.6; // width of one 14px bold sans character

interface Port { iface: string; address?: string; mac?: string; link?: string; x: number }
interface Box { name: string; x: number; w: number; ports: Port[]; ghost: boolean }
interface Bar { name: string; mtu?: number; color: string; y: number; x1: number; x2: number; labelLeft?: boolean }

// Inline <svg> for the topology, or '' when there is nothing to draw.
export function topologySvg(topology: Topology | undefined): string {
  const { machines, links, ghosts } = withImplicit(topology);
  if (machines.length === 0 && links.length === 0) return '';
  const { boxes, next } = layoutBoxes(machines, links, ghosts);
  const bars = layoutBars(boxes, links);
  const barByName = new Map(bars.map((b) => [b.name, b]));
  const shift = placeLabels(boxes, bars, barByName);
  const x = next + shift;

  const width = Math.ceil(Math.max(x - BOX_GAP + PAD, ...bars.map((b) => b.labelLeft ? 0 : b.x2 + 10 + labelW(b) + PAD)));
  const height = (bars.length ? bars[bars.length - 1]!.y + 14 : BOX_BOTTOM + LABEL_H) + PAD / 2;
  // Bars first, so the wires drawn over them show a gap where they only cross.
  const out = [...bars.map(drawBar), ...boxes.map((box) => drawBox(box, barByName))];
  const label = `Topology: ${machines.length} machine${machines.length === 1 ? '' : 's'}, ${links.length} link${links.length === 1 ? '' : 's'}`;
  return `<svg data-testid="topology" class="topology" viewBox="0 0 ${width} ${height}" `
    + `width="${width}" height="${height}" role="img" aria-label="${esc(label)}"><title>${esc(label)}</title>${out.join('')}</svg>`;
}

// Links named only by an interface, and machines named only by a link, still get drawn (the latter as ghosts).
function withImplicit(topology: Topology | undefined): { machines: TopologyMachine[]; links: Topology['links']; ghosts: Set<string> } {
  const machines: TopologyMachine[] = [...(topology?.machines ?? [])];
  const links = [...(topology?.links ?? [])];
  for (const m of machines) for (const i of m.interfaces) {
    if (i.link && !links.some((l) => l.name === i.link)) links.push({ name: i.link, machines: [m.name] });
  }
  const ghosts = new Set<string>();
  for (const l of links) for (const name of l.machines) {
    if (!machines.some((m) => m.name === name)) { machines.push({ name, interfaces: [] }); ghosts.add(name); }
  }
  return { machines, links, ghosts };
}

// Boxes left to right, and where a next one would start. Ports: real interfaces, sorted by the link
// they join (fewer crossings), then a bare port for each link that lists the machine without naming
// an interface.
function layoutBoxes(machines: TopologyMachine[], links: Topology['links'], ghosts: Set<string>): { boxes: Box[]; next: number } {
  const linkIndex = new Map(links.map((l, i) => [l.name, i]));
  let x = PAD;
  const boxes = machines.map((m) => {
    const ports: Port[] = [...m.interfaces]
      .sort((a, b) => (linkIndex.get(a.link ?? '') ?? 1e9) - (linkIndex.get(b.link ?? '') ?? 1e9))
      .map((i) => ({ iface: i.name, address: i.address, mac: i.mac, link: i.link, x: 0 }));
    for (const l of links) {
      if (l.machines.includes(m.name) && !ports.some((p) => p.link === l.name)) ports.push({ iface: '', link: l.name, x: 0 });
    }
    const w = Math.max(130, m.name.length * NAME_W + 36, ports.length * PORT_GAP);
    const first = x + (w - ports.length * PORT_GAP) / 2 + PORT_GAP / 2;
    ports.forEach((p, i) => { p.x = Math.round(first + i * PORT_GAP) - (p.iface ? 24 : 0); });
    const box: Box = { name: m.name, x, w, ports, ghost: ghosts.has(m.name) };
    x += w + BOX_GAP;
    return box;
  });
  return { boxes, next: x };
}

// One bar per link, below the boxes, spanning the ports on it.
function layoutBars(boxes: Box[], links: Topology['links']): Bar[] {
  const barTop = BOX_BOTTOM + LABEL_H + 18;
  return links.map((l, i) => {
    const xs = boxes.flatMap((b) => b.ports.filter((p) => p.link === l.name).map((p) => p.x));
    const mid = xs.length ? (Math.min(...xs) + Math.max(...xs)) / 2 : PAD + 40;
    return {
      name: l.name, mtu: l.mtu, color: PALETTE[i % PALETTE.length]!, y: barTop + i * BAR_GAP,
      x1: Math.min(mid - 40, ...xs.map((v) => v - 22)), x2: Math.max(mid + 40, ...xs.map((v) => v + 22)),
    };
  });
}

const barLabel = (b: Bar) => b.mtu ? `${b.name} · MTU ${b.mtu}` : b.name;
const labelW = (b: Bar) => barLabel(b).length * MONO_W;

// A bar's label goes right of it unless a wire to a lower bar runs through there; then left. Left
// labels may need room before the first box: everything moves right by that much, which is returned.
function placeLabels(boxes: Box[], bars: Bar[], barByName: Map<string, Bar>): number {
  const wires = boxes.flatMap((b) => b.ports.flatMap((p) => {
    const bar = p.link ? barByName.get(p.link) : undefined;
    return bar ? [{ x: p.x, bottom: bar.y }] : [];
  }));
  const clear = (x1: number, x2: number, y: number) => !wires.some((w) => w.bottom > y && w.x > x1 - 6 && w.x < x2 + 6);
  for (const b of bars) {
    b.labelLeft = !clear(b.x2 + 10, b.x2 + 10 + labelW(b), b.y) && clear(b.x1 - 10 - labelW(b), b.x1 - 10, b.y);
  }
  const shift = Math.max(0, ...bars.filter((b) => b.labelLeft).map((b) => PAD - (b.x1 - 10 - labelW(b))));
  if (shift) {
    for (const box of boxes) { box.x += shift; for (const p of box.ports) p.x += shift; }
    for (const b of bars) { b.x1 += shift; b.x2 += shift; }
  }
  return shift;
}

function drawBar(b: Bar): string {
  return `<g class="topo-link" data-link="${esc(b.name)}">`
    + `<line x1="${b.x1}" y1="${b.y}" x2="${b.x2}" y2="${b.y}" stroke="${b.color}" stroke-width="6" stroke-linecap="round"/>`
    + `<text class="topo-link-label" x="${b.labelLeft ? b.x1 - 12 : b.x2 + 12}" y="${b.y + 4}"${b.labelLeft ? ' text-anchor="end"' : ''} `
    + `fill="${b.color}">${esc(barLabel(b))}</text></g>`;
}

function drawBox(box: Box, barByName: Map<string, Bar>): string {
  const out = [`<g class="topo-machine${box.ghost ? ' ghost' : ''}" data-machine="${esc(box.name)}">`
    + `<rect class="topo-box" x="${box.x}" y="${PAD}" width="${box.w}" height="${BOX_H}" rx="8"/>`
    + `<text class="topo-name" x="${box.x + box.w / 2}" y="${PAD + BOX_H / 2 + 5}" text-anchor="middle">${esc(box.name)}</text>`];
  for (const p of box.ports) out.push(drawPort(p, p.link ? barByName.get(p.link) : undefined));
  out.push('</g>');
  return out.join('');
}

// A port on the box's bottom edge, its name and address under it, and its wire down to its link's bar.
function drawPort(p: Port, bar: Bar | undefined): string {
  const tip = [p.iface, p.address, p.mac, bar ? `link ${bar.name}` : 'not linked'].filter(Boolean).join(' · ');
  const out = [`<g class="topo-port" data-iface="${esc(p.iface)}"><title>${esc(tip)}</title>`];
  if (bar) {
    out.push(`<line class="topo-halo" x1="${p.x}" y1="${BOX_BOTTOM}" x2="${p.x}" y2="${bar.y}" stroke-width="6"/>`
      + `<line x1="${p.x}" y1="${BOX_BOTTOM}" x2="${p.x}" y2="${bar.y}" stroke="${bar.color}" stroke-width="2"/>`
      + `<circle cx="${p.x}" cy="${bar.y}" r="4.5" fill="${bar.color}" class="topo-joint"/>`);
  }
  out.push(`<circle cx="${p.x}" cy="${BOX_BOTTOM}" r="4" class="topo-port-dot${bar ? '' : ' unlinked'}"${bar ? ` fill="${bar.color}"` : ''}/>`);
  if (p.iface) out.push(`<text class="topo-iface" x="${p.x + 8}" y="${BOX_BOTTOM + 15}">${esc(p.iface)}</text>`);
  if (p.address) out.push(`<text class="topo-addr" x="${p.x + 8}" y="${BOX_BOTTOM + 29}">${esc(p.address)}</text>`);
  out.push('</g>');
  return out.join('');
}
