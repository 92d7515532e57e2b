// vm/ never prints: it reports progress as typed events and the runner decides how to render them.
export type VmEvent =
  | { type: 'image-build'; phase: 'start' | 'progress' | 'done'; message: string; ms?: number }
  | { type: 'kernel-fetch'; kernel: string; phase: 'start' | 'progress' | 'done'; message: string; ms?: number }
  | { type: 'accel'; accel: 'kvm' | 'tcg'; reason: string }
  | { type: 'boot-start'; machine: string; attempt: number }
  | { type: 'boot-line'; machine: string; line: string }
  | { type: 'boot-ready'; machine: string; ms: number }
  | { type: 'boot-retry'; machine: string; reason: string }
  | { type: 'snapshot'; machine: string; phase: 'saved' | 'restored' | 'dropped'; ms: number; message?: string }
  | { type: 'machine-stop'; machine: string }
  | { type: 'cleanup'; message: string };

export type EventSink = (event: VmEvent) => void;

export const noEvents: EventSink = () => {};
