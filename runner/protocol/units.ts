import type { MachineEndpoint, NicCaptureResult } from '../../vm/types.ts';

// A unit is one lab on one kernel (and one submission) with its own VM set: one generated spec file
// of the run's single Playwright project, its tests tagged with the unit's id.
export interface UnitSpec {
  id: string;
  labFile: string;
  kernel: string;
  /** Absolute path of the student's file, or null when the lab has no submission. */
  submission: { path: string; label: string } | null;
}

/** What a test worker gets from the broker once the unit's VMs are up. */
export interface UnitLease {
  id: string;
  endpoints: MachineEndpoint[];
  /** modulesDisk: the kernel's read-only modules disk on the host, what `requires: modules` is judged by. */
  kernel: { name: string; version: string; modulesDisk?: string };
  imageHash: string;
  accel: 'kvm' | 'tcg';
  /** NICs per machine, for the topology picture. */
  nics: Record<string, { name: string; link: string; mac: string }[]>;
  /** Machines that went down during the run (a guest powered off, crashed, or stopped answering). */
  down: DownMachine[];
  /**
   * The lab's captures of a link between machines (an interface eth1.. of a lab NIC), taken on the
   * host side of the link, by capture name: the pcap file (unfiltered) on the host. Absent where the
   * backend cannot (Vagrant): the guest's trusted tcpdump takes them.
   */
  hostCaptures?: Record<string, { file: string; nic: number }>;
}

/** What a host-side capture recorded, when it stopped. */
export type HostCaptureStop = NicCaptureResult;

export interface DownMachine { machine: string; reason: string }

export type { TamperNote } from '../../reports/model.ts';

export function unitId(labName: string, kernel: string, multiKernel: boolean, suffix = ''): string {
  const base = multiKernel ? `${labName}@${kernel.replace(/[^a-z0-9.-]+/gi, '-')}` : labName;
  return base + suffix;
}
