// `docker: true` on a machine: what every Docker lab needs, written once. The lab is expanded into
// the plain fields it stands for (packages, boot steps, lock modules, kept services), so the engine,
// the snapshot key and the report see nothing new.
import type { Lab, MachineSpec } from './schema.ts';

// apparmor: Debian's kernels run AppArmor, and docker 20.10 refuses `docker run` when it cannot load
// its docker-default profile (apparmor_parser missing).
export const DOCKER_PACKAGES = ['docker.io', 'apparmor'] as const;

// dockerd's storage driver (overlay2); every networking module is loaded by the lock anyway.
export const DOCKER_MODULES = ['overlay'] as const;

// A container is its shim and what runs under it; a published port's docker-proxy serves the host's
// own traffic. Every other process a submission leaves is still killed before the checks.
export const DOCKER_KEEP = ['containerd-shim-runc-v2', 'docker-proxy'] as const;

/** dockerd's options in Debian's docker.service, which a lab's README can tell students to keep. */
export const DOCKERD_OPTIONS = '--containerd=/run/containerd/containerd.sock';

export const DOCKER_BOOT_STEPS: MachineSpec['boot'] = [
  {
    name: 'dockerd',
    // No systemd in the guest: containerd and dockerd as Debian's containerd.service and docker.service
    // start them, so a student who restarts dockerd (with --cluster-store, say) keeps containerd; a
    // dockerd that starts its own gives it 15 s, which a loaded emulated CPU does not always meet.
    // Their logs stay on the guest.
    run: [
      'setsid -f containerd >/var/log/containerd.log 2>&1 </dev/null',
      'for i in $(seq 600); do [ -S /run/containerd/containerd.sock ] && break; sleep 0.1; done',
      `setsid -f dockerd ${DOCKERD_OPTIONS} >/var/log/dockerd.log 2>&1 </dev/null`,
      'for i in $(seq 600); do docker info >/dev/null 2>&1 && exit 0; sleep 0.1; done',
      'tail -n 20 /var/log/containerd.log /var/log/dockerd.log; exit 1',
    ].join('\n'),
    timeout: 120_000,
  },
  {
    name: 'busybox image',
    // No registry is reachable: the image is the VM's own busybox and the libraries it links,
    // imported as busybox:latest (every applet a link to it, as in Docker Hub's busybox).
    run: [
      'set -e',
      'r=$(mktemp -d)',
      'mkdir -p "$r/bin" "$r/tmp" "$r/etc"',
      'cp --parents $(ldd /bin/busybox | grep -o \'/[^ ]*\') /bin/busybox "$r"',
      'for a in $(busybox --list); do [ -e "$r/bin/$a" ] || ln -s busybox "$r/bin/$a"; done',
      'echo \'root:x:0:0:root:/root:/bin/sh\' > "$r/etc/passwd"',
      'tar -C "$r" -c . | docker import -c \'CMD ["sh"]\' - busybox:latest',
      'rm -rf "$r"',
    ].join('\n'),
    timeout: 120_000,
  },
];

const union = (a: readonly string[], b: readonly string[]) => [...a, ...b.filter((x) => !a.includes(x))];

function withDocker(m: MachineSpec): MachineSpec {
  return { ...m, packages: union(m.packages, DOCKER_PACKAGES), boot: [...DOCKER_BOOT_STEPS, ...m.boot] };
}

// The lab with every `docker: true` machine spelled out; a lab without one comes back as it is.
export function expandDocker(lab: Lab): Lab {
  if (!Object.values(lab.machines).some((m) => m.docker)) return lab;
  const machines = Object.fromEntries(Object.entries(lab.machines).map(([n, m]) => [n, m.docker ? withDocker(m) : m]));
  const submission = lab.submission && { ...lab.submission, keep: union(lab.submission.keep, DOCKER_KEEP) };
  return { ...lab, machines, lock: { ...lab.lock, modules: union(lab.lock.modules, DOCKER_MODULES) }, submission };
}

// Where a machine's i-th boot step (after expansion) is written: the Docker steps come from `docker: true`.
export function bootStepPlace(machine: string, docker: boolean, i: number): string {
  const own = docker ? i - DOCKER_BOOT_STEPS.length : i;
  return own < 0 ? `lab.yaml machines.${machine}.docker (Docker's boot steps)` : `lab.yaml machines.${machine}.boot[${own}]`;
}
