// Runs in Playwright's workers: the connections to the machines of the unit a worker grades now,
// leased from netlab-run's broker (the VMs belong to netlab-run, not to the worker): SSH, which runs
// the lab's setup and the submission, and the grading agent, which runs everything graded.
import { test as base } from '@playwright/test';
import { brokerClient } from '../protocol/broker-client.ts';
import { SSH_STOPPED } from './guard.ts';
import type { UnitLease } from '../protocol/units.ts';
import { AgentMachine } from '../../vm/agent/client.ts';
import { SshMachine } from '../../vm/ssh/client.ts';
import type { Machine } from '../../vm/types.ts';

/**
 * A unit's machines as one worker sees them. `machines`: over SSH, in the guest the submission
 * controls (setup, the submission itself). `trusted`: where checks, captures and the final state run:
 * the machine's grading agent (`agents`), or SSH on a backend without one (Vagrant). `down` holds
 * machines that went down, with the reason.
 */
export interface LabVms {
  lease: UnitLease;
  machines: Map<string, Machine>;
  trusted: Map<string, Machine>;
  agents: Map<string, AgentMachine>;
  down: Map<string, string>;
  /** Machines whose SSH server the submission stopped (their agent still runs the checks). */
  noSsh: Map<string, string>;
}


// The machines of the unit this worker grades now. A worker runs one unit's tests after another's
// (one project for all units, config.ts), so the connections live from the unit's first test to the
// worker's next unit, not for the worker's life.
let held: { unit: string; vms: Promise<LabVms> } | undefined;

async function connectUnit(unitId: string): Promise<LabVms> {
  const lease = await brokerClient().acquire(unitId);
  const machines = new Map<string, Machine>();
  const agents = new Map<string, AgentMachine>();
  const down = new Map((lease.down ?? []).map((d) => [d.machine, d.reason]));
  const noSsh = new Map<string, string>();
  try {
    for (const ep of lease.endpoints) {
      if (down.has(ep.name)) continue;
      if (ep.agentSocket) agents.set(ep.name, await AgentMachine.connect(ep.name, ep.agentSocket, { timeoutMs: 30_000 }));
      const agent = agents.get(ep.name);
      try {
        machines.set(ep.name, await SshMachine.connect(ep, { timeoutMs: 30_000 }));
      } catch (err) {
        // A worker that joins a unit after the submission stopped a machine's SSH server: the agent
        // still grades that machine (the stage that saw it go has said why).
        if (!agent || await agent.sshServerRunning().catch(() => true)) throw err;
        noSsh.set(ep.name, SSH_STOPPED);
      }
    }
  } catch (err) {
    await closeAll({ machines, agents });
    throw err;
  }
  const trusted = new Map(lease.endpoints.filter((ep) => agents.has(ep.name) || machines.has(ep.name))
    .map((ep): [string, Machine] => [ep.name, agents.get(ep.name) ?? machines.get(ep.name)!]));
  return { lease, machines, trusted, agents, down, noSsh };
}

const closeAll = (vms: Pick<LabVms, 'machines' | 'agents'>) =>
  Promise.all([...vms.machines.values(), ...vms.agents.values()].map((m) => m.close().catch(() => {})));

async function dropHeld(): Promise<void> {
  const h = held;
  held = undefined;
  const vms = await h?.vms.catch(() => undefined);
  if (vms) await closeAll(vms);
}

// Declared once per module, not per unit: Playwright reuses a worker only for tests whose worker
// fixtures are the same functions.
export const workerTest = base.extend<object, { heldVms: void }>({
  heldVms: [async ({}, use) => { await use(); await dropHeld(); }, { scope: 'worker', auto: true }],
});

export function unitVms(unitId: string): Promise<LabVms> {
  if (held?.unit === unitId) return held.vms;
  const previous = dropHeld();
  const vms = previous.then(() => connectUnit(unitId));
  held = { unit: unitId, vms };
  // A failed lease is not kept: the next test asks the broker again (which remembers a failed boot).
  vms.catch(() => { if (held?.vms === vms) held = undefined; });
  return vms;
}
