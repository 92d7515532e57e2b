import { constants } from 'node:fs';
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { cacheRoot } from '../build/cache.ts';
import type { EventSink } from '../events.ts';
import type { Accel } from './args.ts';
import { QEMU_BINARY } from './machine.ts';

const PROBE_TIMEOUT_MS = 15_000;

export interface AccelChoice { accel: Accel; reason: string }

// /dev/kvm opening is not proof KVM works: on some hosts (a PVM hypervisor) a guest hangs right after
// "Probing EDD". So boot the real kernel once with KVM and a root that cannot be mounted: a working
// KVM panics and exits within a second or two; a broken one hangs and is killed. Cached per host.
export async function chooseAccel(opts: { force?: Accel; kernel: string; initrd: string; onEvent?: EventSink }): Promise<AccelChoice> {
  const emit = opts.onEvent ?? (() => {});
  const done = (c: AccelChoice) => { emit({ type: 'accel', ...c }); return c; };
  if (opts.force === 'tcg') return done({ accel: 'tcg', reason: 'forced by --accel tcg' });
  try {
    await access('/dev/kvm', constants.R_OK | constants.W_OK);
  } catch {
    if (opts.force === 'kvm') return done({ accel: 'kvm', reason: 'forced by --accel kvm (/dev/kvm is not usable: expect a failure)' });
    return done({ accel: 'tcg', reason: '/dev/kvm is missing or not accessible' });
  }
  if (opts.force === 'kvm') return done({ accel: 'kvm', reason: 'forced by --accel kvm' });
  const file = join(cacheRoot(), 'accel.json');
  const key = `${hostname()} ${opts.kernel}`;
  try {
    const cached = JSON.parse(await readFile(file, 'utf8')) as Record<string, AccelChoice>;
    if (cached[key]) return done(cached[key]);
  } catch { /* no cache yet */ }
  const choice = await probeKvm(opts.kernel, opts.initrd);
  await mkdir(cacheRoot(), { recursive: true });
  let all: Record<string, AccelChoice> = {};
  try { all = JSON.parse(await readFile(file, 'utf8')); } catch { /* first entry */ }
  all[key] = choice;
  await writeFile(file, JSON.stringify(all, null, 2));
  return done(choice);
}

async function probeKvm(kernel: string, initrd: string): Promise<AccelChoice> {
  const started = Date.now();
  const r = await execa('setpriv', ['--pdeathsig', 'KILL', '--', QEMU_BINARY,
    '-accel', 'kvm', '-cpu', 'host', '-m', '128', '-nodefaults', '-no-user-config', '-display', 'none',
    '-no-reboot', '-serial', 'stdio', '-kernel', kernel, '-initrd', initrd,
    '-append', 'console=ttyS0 panic=-1 rdinit=/netlab-no-such-init root=/dev/netlab-none'],
  { reject: false, timeout: PROBE_TIMEOUT_MS, killSignal: 'SIGKILL', stdin: 'ignore', all: true });
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  if (!r.timedOut && /Kernel panic|VFS:/.test(r.all ?? '')) {
    return { accel: 'kvm', reason: `KVM probe booted a kernel in ${secs} s` };
  }
  const why = r.timedOut ? `a KVM guest hung for ${secs} s` : `QEMU with KVM failed: ${(r.all ?? '').split('\n').filter(Boolean).slice(-1)[0] ?? 'no output'}`;
  return { accel: 'tcg', reason: `${why}; using software emulation (TCG)` };
}
