// Runs in Playwright's workers.
import type { TestInfo } from '@playwright/test';
import type { CaptureResult, CheckResult, CommandRecord } from '../../reports/model.ts';
import { decodePcap, filterPcap } from '../../reports/pcap.ts';
import { DownloadTooLargeError } from '../../vm/errors.ts';
import { execBatch } from '../../vm/ssh/exec-batch.ts';
import { DMESG_HEALTH_COMMAND, DMESG_PROBLEMS } from '../lab/requires.ts';
import type { CaptureSpec, Lab } from '../lab/schema.ts';
import { capturePath, OUTPUT_LIMIT, stopCaptureCommand } from './guest-commands.ts';
import { brokerClient } from '../protocol/broker-client.ts';
import type { HostCaptureStop, TamperNote } from '../protocol/units.ts';
import { attachJson, PCAP_ATTACHMENT } from '../protocol/wire.ts';
import type { LabVms } from './unit-vms.ts';

// The lab's final state, after its last check: every capture stopped (collect commands must not land
// in them), then the pcaps fetched and decoded while each machine runs its collect commands and the
// dmesg health read in one batch (one exec per machine: each exec costs ~100 ms of emulated CPU).
export async function finalState(lab: Lab, vms: LabVms, unitId: string, testInfo: TestInfo): Promise<void> {
  const live = lab.captures.filter((c) => !vms.down.has(c.on) || vms.lease.hostCaptures?.[c.name]);
  const stopped = await Promise.all(live.map((c) => stopCapture(c, vms).then(() => undefined, (err: Error) => err)));
  const stopErrors = new Map(live.map((c, i) => [c.name, stopped[i]]));
  // The tamper evidence reads what the submission left; nothing here writes it, so it runs alongside.
  const [captures, perMachine, tampered] = await Promise.all([
    Promise.all(lab.captures.map((c) => fetchCapture(c, vms, testInfo, stopErrors.get(c.name)))),
    Promise.all([...vms.trusted.keys()].filter((t) => !vms.down.has(t)).map((t) => collectOn(lab, vms, t))),
    tamperEvidence(vms, unitId),
  ]);
  const collected = perMachine.flatMap((r) => r.collected).sort((a, b) => a.order - b.order).map((r) => r.record);
  const health = kernelHealth(perMachine.flatMap((r) => (r.health ? [r.health] : [])));
  await attachJson(testInfo, 'netlab-final', { captures, collected, health, ...(tampered.length ? { tampered } : {}) });
}

// A capture on the host side of a link is stopped by the host (its file is the host's); the others by
// the guest's trusted tcpdump.
const hostStops = new Map<string, Promise<HostCaptureStop>>();
function stopCapture(c: CaptureSpec, vms: LabVms): Promise<unknown> {
  if (!vms.lease.hostCaptures?.[c.name]) return vms.trusted.get(c.on)!.exec(stopCaptureCommand(c.name), { timeout: 15_000 });
  const p = brokerClient().captureStop(vms.lease.id, c.name);
  hostStops.set(`${vms.lease.id}/${c.name}`, p);
  return p;
}

async function fetchCapture(c: CaptureSpec, vms: LabVms, testInfo: TestInfo, stopError: Error | undefined): Promise<CaptureResult> {
  const capture: CaptureResult = { name: c.name, machine: c.on, interface: c.interface, filter: c.filter, file: `captures/${c.name}.pcap`, packetCount: 0, packets: [] };
  if (vms.lease.hostCaptures?.[c.name]) return fetchHostCapture(c, vms, testInfo, capture, stopError);
  if (vms.down.has(c.on)) {
    capture.error = `capture ${c.name} is lost: machine ${c.on} is down (${vms.down.get(c.on)})`;
    return capture;
  }
  try {
    if (stopError) throw stopError;
    const local = testInfo.outputPath(`${c.name}.pcap`);
    await vms.trusted.get(c.on)!.download(capturePath(c.name), local);
    const decoded = await decodePcap(local, { limit: 200 });
    capture.packetCount = decoded.packetCount;
    capture.packets = decoded.packets;
    await testInfo.attach(`${PCAP_ATTACHMENT}${c.name}`, { path: local, contentType: 'application/vnd.tcpdump.pcap' });
  } catch (err) {
    capture.error = err instanceof DownloadTooLargeError
      ? `capture ${c.name} on ${c.on}:${c.interface} was not kept: ${err.message}`
      : `capture ${c.name} on ${c.on}:${c.interface} has no packets file (${(err as Error).message.split('\n')[0]})`;
  }
  return capture;
}

// The host recorded every frame of the link; the capture's filter is applied here. It holds what
// crossed the wire until the machine went down, if it did.
async function fetchHostCapture(c: CaptureSpec, vms: LabVms, testInfo: TestInfo, capture: CaptureResult, stopError: Error | undefined): Promise<CaptureResult> {
  capture.side = 'host';
  try {
    if (stopError) throw stopError;
    const key = `${vms.lease.id}/${c.name}`;
    const stop = await hostStops.get(key)!;
    hostStops.delete(key);
    const local = testInfo.outputPath(`${c.name}.pcap`);
    await filterPcap(stop.file, local, c.filter);
    const decoded = await decodePcap(local, { limit: 200 });
    capture.packetCount = decoded.packetCount;
    capture.packets = decoded.packets;
    if (stop.cutShort) capture.error = `capture ${c.name} on ${c.on}:${c.interface} is incomplete: ${stop.cutShort}`;
    await testInfo.attach(`${PCAP_ATTACHMENT}${c.name}`, { path: local, contentType: 'application/vnd.tcpdump.pcap' });
  } catch (err) {
    capture.error = `capture ${c.name} on ${c.on}:${c.interface} (host side of the link) has no packets file (${(err as Error).message.split('\n')[0]})`;
  }
  return capture;
}

// One machine's collect commands (in lab order, `on: '*'` included) and the dmesg health read, as one batch.
async function collectOn(lab: Lab, vms: LabVms, machine: string): Promise<{ collected: { order: number; record: CommandRecord }[]; health?: CommandRecord }> {
  const mine = lab.collect.map((c, order) => ({ c, order })).filter(({ c }) => c.on === '*' || c.on === machine);
  const commands = [...mine.map(({ c }) => c.run), DMESG_HEALTH_COMMAND];
  const results = await execBatch(vms.trusted.get(machine)!, commands, { timeout: 20_000 + 5_000 * commands.length, maxOutput: OUTPUT_LIMIT })
    .catch((err: Error) => commands.map(() => ({ exitCode: null, stdout: '', stderr: err.message, durationMs: 0, timedOut: false, truncated: false })));
  const collected = mine.map(({ c, order }, i) => ({ order, record: { phase: 'collect', machine, command: c.name ?? c.run, ...results[i]! } satisfies CommandRecord }));
  const h = results.at(-1)!;
  return { collected, health: h.exitCode === null ? undefined : { phase: 'check', machine, command: DMESG_HEALTH_COMMAND, ...h } };
}

// What the submission did to grading, as the grader saw it: the host (the agent's port closed or
// taken over), each agent (its mounts changed, a usermode helper redirected, a process outside the
// submission's cgroup) and each guest's own disk against the pristine one (programs, libraries, the
// loader's configuration, shells, rc files). None of it changes a point: the checks ran where it could
// not reach; it tells staff who tried.
async function tamperEvidence(vms: LabVms, unitId: string): Promise<TamperNote[]> {
  const notes: TamperNote[] = [];
  const add = (machine: string, reason: string) => { if (!notes.some((n) => n.machine === machine && n.reason === reason)) notes.push({ machine, reason }); };
  const health = await brokerClient().health(unitId, 0).catch(() => ({ tampered: [] as TamperNote[] }));
  for (const t of health.tampered ?? []) add(t.machine, t.reason);
  await Promise.all([...vms.agents].filter(([name]) => !vms.down.has(name)).map(async ([name, agent]) => {
    try {
      for (const reason of await agent.status()) add(name, reason);
      const changed = await agent.scan();
      if (changed.length) add(name, `system files changed in the guest: ${changed.slice(0, 12).join(', ')}${changed.length > 12 ? ` and ${changed.length - 12} more` : ''}`);
    } catch (err) {
      add(name, `the grading agent stopped answering (${(err as Error).message})`);
    }
  }));
  return notes;
}

// After the lab, the kernel's own health (as BPF CI checks dmesg): a BUG, WARNING, Oops or panic
// becomes a failed 0-point check "kernel health" carrying the excerpt, so the cell shows it.
function kernelHealth(reads: CommandRecord[]): CheckResult | undefined {
  const found = reads.filter((r) => DMESG_PROBLEMS.test(r.stdout));
  if (!found.length) return undefined;
  return {
    id: 'kernel-health', name: 'kernel health (dmesg)', status: 'failed', points: 0, maxPoints: 0, visibility: 'visible',
    expected: 'no BUG, WARNING, Oops or panic in dmesg', got: `${found.map((r) => r.machine).join(', ')}: ${found[0]!.stdout.split('\n').find((l) => DMESG_PROBLEMS.test(l))?.trim()}`,
    durationMs: 0, commands: found,
  };
}
