// The modules a kernel has, read on the host from the kernel's read-only modules disk: what a lab's
// `requires: modules` is judged against. Never asked of the guest, whose root could make modinfo say a
// module is absent and so turn a check it fails into "skipped" (which drops it from the maximum).
import { execa } from 'execa';

const known = new Map<string, Promise<Set<string>>>();

/** Module names (with - as _) that the kernel has, built in or loadable. */
export function kernelModules(modulesDisk: string, version: string): Promise<Set<string>> {
  const key = `${modulesDisk}\0${version}`;
  let p = known.get(key);
  if (!p) {
    p = (async () => {
      const dep = await readFromDisk(modulesDisk, `/${version}/modules.dep`);
      if (dep === undefined) throw new Error(`debugfs could not read /${version}/modules.dep from ${modulesDisk}`);
      return moduleNames(`${dep}\n${(await readFromDisk(modulesDisk, `/${version}/modules.builtin`)) ?? ''}`);
    })();
    known.set(key, p);
    p.catch(() => known.delete(key));
  }
  return p;
}

// debugfs reads a file of an ext4 image without mounting it (e2fsprogs, a host tool already). It
// exits 0 for a missing file too: anything on stderr past its banner line means the file was not read.
async function readFromDisk(disk: string, path: string): Promise<string | undefined> {
  const r = await execa('debugfs', ['-R', `cat ${path}`, disk], { reject: false, stripFinalNewline: false });
  const complaints = r.stderr.split('\n').filter((l) => l.trim() && !l.startsWith('debugfs '));
  return r.exitCode === 0 && complaints.length === 0 ? r.stdout : undefined;
}

/** Names of the modules listed in modules.dep / modules.builtin text (first field, path to a .ko). */
export function moduleNames(text: string): Set<string> {
  const out = new Set<string>();
  for (const line of text.split('\n')) {
    const path = line.split(':')[0]!.trim();
    const m = /([^/]+)\.ko(?:\.(?:xz|zst|gz))?$/.exec(path);
    if (m) out.add(normalModule(m[1]!));
  }
  return out;
}

export const normalModule = (name: string): string => name.replace(/-/g, '_');
