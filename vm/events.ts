// vm/ never prints: it reports progress as typed events and the runner decides how to render them.
export type VmEvent =
  | { type: 'image-build'; phase: 'start' | 'progress' | 'done'; message: string; ms?: number }
  | { type: 'kernel-fetch'; kernel: string; phase: 'start' | 'progress' | 'done'; message: string; ms?: number }
  | { type: 'accel'; accel: 'kvm' | 'tcg'; reason: string }
  /** The Debian mirror an image build or kernel fetch uses, and why (NETLAB_MIRROR, the host's apt, or Debian's main mirror). */
  | { type: 'mirror'; uri: string; origin: 'env' | 'host' | 'default'; reason: string; keyring?: string }
  | { type: 'boot-start'; machine: string; attempt: number }
  | { type: 'boot-line'; machine: string; line: string }
  | { type: 'boot-ready'; machine: string; ms: number }
  | { type: 'boot-retry'; machine: string; reason: string }
  | { type: 'boot-step'; machine: string; name: string; ms: number; exitCode: number | null }
  | { type: 'snapshot'; machine: string; phase: 'saved' | 'restored' | 'dropped'; ms: number; message?: string }
  | { type: 'machine-stop'; machine: string }
  /** The host stopped a machine that passed a limit (its disk); the reason is what reports say. */
  | { type: 'machine-limit'; machine: string; reason: string }
  | { type: 'cleanup'; message: string };

export type EventSink = (event: VmEvent) => void;

export const noEvents: EventSink = () => {};
