// The contracts shared across vm/: what a kernel and an image are once cached, and what running a
// command returns. Kept free of any process or test-runner concern.

export interface ImageInfo {
  /** Cache folder of this image build. */
  dir: string;
  /** Read-only raw ext4 root filesystem; VMs run on qcow2 overlays over it. */
  rootfs: string;
  /** Private key (OpenSSH format) that logs in as root on every VM of this image. */
  sshKey: string;
  /** The guest's ed25519 host public key, one OpenSSH line, to verify the guest. */
  hostPublicKey: string;
  /** Hash of the recipe (package list, init, build format): the cache key. */
  recipeHash: string;
  packages: string[];
}

/**
 * How netlab-init locks a machine's kernel before anything untrusted runs: `modules` are loaded on
 * top of the networking modules it always loads; `enabled: false` leaves module loading, kexec and
 * ptrace as the kernel booted (a lab where students load modules on purpose).
 */
export interface KernelLock {
  enabled: boolean;
  modules: string[];
}

/** A command run once on a freshly booted machine, before its snapshot (lab.yaml machines.<m>.boot). */
export interface BootStep {
  name?: string;
  run: string;
  timeoutMs: number;
  /** Where the lab has it, for its error: e.g. "lab.yaml machines.host.boot[0]". Default from its index. */
  where?: string;
}

/** What a host-side capture of a lab NIC recorded, once stopped. */
export interface NicCaptureResult {
  /** The pcap file on the host (the link's frames both ways, unfiltered). */
  file: string;
  bytes: number;
  /** Why recording stopped early (the size limit), when it did. */
  cutShort?: string;
}

export interface KernelInfo {
  /** As asked for: `debian:bookworm`, `local:/path/bzImage:/path/modules`. */
  name: string;
  /** `uname -r` of this kernel. */
  version: string;
  /** Kernel to boot: an uncompressed vmlinux (PVH entry, no self-decompression on an emulated CPU) or the bzImage. */
  kernel: string;
  /** Tiny busybox initramfs that loads virtio + ext4 and switches to /dev/vda. */
  initrd: string;
  /** Read-only ext4 disk (label kmods) holding lib/modules/<version>, mounted on /usr/lib/modules. */
  modulesDisk: string;
}

export interface ExecOptions {
  /** Milliseconds; the command is killed in the guest and the result marked timedOut. */
  timeout?: number;
  /**
   * false: at the timeout only this side gives up at once (the result is marked timedOut, the command
   * may run on): no second session to kill it, no wait for the kill to be reported. For commands of
   * our own whose failure ends what they serve anyway (a restore's fix-up). Default true.
   */
  killInGuest?: boolean;
  /** Bytes kept per stream; the rest is dropped and the result marked truncated. */
  maxOutput?: number;
  onStdout?: (chunk: string) => void;
  onStderr?: (chunk: string) => void;
  /** Text fed to the command's stdin. */
  input?: string;
}

export interface ExecResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  durationMs: number;
  timedOut: boolean;
  truncated: boolean;
}

// One primitive (exec) and file transfer; everything else (succeed, waitUntil...) is built on top.
export interface Machine {
  readonly name: string;
  exec(command: string, opts?: ExecOptions): Promise<ExecResult>;
  upload(localPath: string, remotePath: string): Promise<void>;
  /** At most opts.maxBytes (default NETLAB_MAX_DOWNLOAD, 64 MiB); a larger file is refused whole. */
  download(remotePath: string, localPath: string, opts?: { maxBytes?: number }): Promise<void>;
  close(): Promise<void>;
}

/** Where a booted machine can be reached; serialisable so test workers can reconnect. */
export interface MachineEndpoint {
  name: string;
  host: string;
  port: number;
  user: string;
  privateKeyPath: string;
  hostPublicKey: string;
  kernelVersion: string;
  /**
   * The unix socket of the machine's grading agent (vm/agent/client.ts), where the backend has one:
   * checks run there, in the trusted context, not over SSH in the guest root controls.
   */
  agentSocket?: string;
}

/** What the host reports when a machine's grading agent let go of its port: the agent was killed. */
export const AGENT_PORT_CLOSED = 'the grading agent\'s port was closed: the agent was killed';

/** A lab's running machines, whoever started them (QEMU directly, or Vagrant). */
export interface MachineSet {
  readonly names: string[];
  /** The run folder (holds lab.json for `netlab-run shell`). */
  readonly runDir: { path: string; id: string };
  endpoints(): MachineEndpoint[];
  /** Lab NICs of a machine, eth1.. in order. */
  nics(name: string): { link: string; mac: string }[];
  /** True when the machine is gone (powered off, crashed, killed). */
  isDown(name: string): boolean;
  /** What the host saw done to the machine's grading agent (killed, its port taken), where it has one. */
  tamperReasons?(name: string): string[];
  /** Why the host stopped the machine for passing a limit (its disk), when it did. */
  limitReason?(name: string): string | undefined;
  killMachine(name: string): Promise<void>;
  /**
   * Host-side captures of a lab NIC (0 is eth1): every frame the machine sent or received on that
   * link, recorded outside the guest. Absent where the backend cannot (Vagrant).
   */
  startNicCapture?(machine: string, nic: number, name: string): Promise<void>;
  /** Where a host-side capture's pcap is (written by the backend while it runs). */
  nicCaptureFile?(machine: string, name: string): string;
  stopNicCapture?(machine: string, name: string): Promise<NicCaptureResult>;
  /** Everything the set started is gone when this resolves. */
  stop(): Promise<void>;
}
