// Slow tier (runs in CI): a kernel of each Debian release, fetched from Debian's mirror, boots the
// same image and reports its version; the lab modules load from its modules disk (with a module asked
// for on top, as lab.yaml's lock.modules does) before netlab-init locks the kernel.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureImage } from '../../vm/build/image.ts';
import { ensureKernel } from '../../vm/build/kernel.ts';
import { startVmSet } from '../../vm/qemu/machine-set.ts';
import { succeed } from '../helpers/wait.ts';

process.env.NETLAB_RUNTIME_DIR = await mkdtemp(join(tmpdir(), 'netlab-kernels-rt-'));

const kernels: [string, RegExp][] = [
  ['debian:bullseye', /^5\.10\./],
  ['debian:bookworm', /^6\.1\./],
  ['debian:trixie', /^6\.12\./],
  ['debian:sid', /^(6\.(1[3-9]|[2-9]\d)|[7-9])\./],
  ['debian:bookworm:generic', /^6\.1\..*-amd64$/],
];

for (const [spec, version] of kernels) {
  test(`${spec} boots and reports its version; lab modules load, then the kernel is locked`, { timeout: 600_000 }, async () => {
    const image = await ensureImage();
    const kernel = await ensureKernel(spec);
    assert.match(kernel.version, version);
    const set = await startVmSet({ label: 'kernels', image, accel: 'tcg', machines: [{ name: 'k', memoryMb: 256, cpus: 1, kernel, lock: { enabled: true, modules: ['br_netfilter'] } }] });
    try {
      const m = set.machine('k');
      assert.equal((await succeed(m, 'uname -r')).trim(), kernel.version);
      await succeed(m, 'for mod in bridge veth vxlan macvlan nf_nat br_netfilter; do [ -d /sys/module/$mod ] || { echo $mod; exit 1; }; done');
      // bonding stays out (its bonding_masters would show in every namespace); the lock refuses it.
      const refused = await m.exec('modprobe bonding');
      assert.match(refused.stderr, /Operation not permitted/, JSON.stringify(refused));
      assert.equal((await succeed(m, 'cat /proc/sys/kernel/modules_disabled')).trim(), '1');
      const lockdown = await m.exec('cat /sys/kernel/security/lockdown');
      if (lockdown.exitCode === 0) assert.match(lockdown.stdout, /\[integrity\]/);
      assert.match(await succeed(m, 'ip link add br0 type bridge && ip link add v0 type veth peer name v1 && ip link set v0 master br0 && ip -br link show master br0'), /^v0/m);
    } finally {
      await set.stop();
    }
  });
}
