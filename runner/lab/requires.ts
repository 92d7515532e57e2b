// What a check needs from the kernel (`requires:`), judged before it runs: a check the kernel cannot
// support is skipped with the reason, not failed (as kernel selftests keep skip apart from fail).

/** Numeric prefix of `uname -r`: "6.1.0-50-cloud-amd64" → [6, 1, 0]. */
export function kernelVersionParts(release: string): number[] {
  const m = /^(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(release);
  return m ? [Number(m[1]), Number(m[2] ?? 0), Number(m[3] ?? 0)] : [];
}

function compare(a: number[], b: number[]): number {
  for (let i = 0; i < 3; i++) { const d = (a[i] ?? 0) - (b[i] ?? 0); if (d) return d; }
  return 0;
}

/** Does `release` satisfy every clause of `range` (">=5.15", ">=5.10 <6.2", "=6.1")? */
export function kernelInRange(release: string, range: string): boolean {
  const have = kernelVersionParts(release);
  const clauses = range.match(/(>=|<=|>|<|=)?\s*\d+(\.\d+){0,2}/g) ?? [];
  return clauses.every((clause) => {
    const m = /^(>=|<=|>|<|=)?\s*(.+)$/.exec(clause.trim())!;
    const c = compare(have, kernelVersionParts(m[2]!));
    switch (m[1] ?? '=') {
      case '>=': return c >= 0;
      case '<=': return c <= 0;
      case '>': return c > 0;
      case '<': return c < 0;
      default: return c === 0;
    }
  });
}

/** Why a check cannot run on this kernel, or undefined when it can. */
export function unmetRequirement(req: { kernel?: string; modules?: string[] } | undefined, release: string, missingModules: string[]): string | undefined {
  if (!req) return undefined;
  if (req.kernel && !kernelInRange(release, req.kernel)) return `needs kernel ${req.kernel}; this is ${release}`;
  if (missingModules.length) return `needs kernel module${missingModules.length > 1 ? 's' : ''} ${missingModules.join(', ')}, absent from ${release}`;
  return undefined;
}

// Kernel health after a lab, as BPF CI reads dmesg: these lines mean the kernel itself misbehaved.
export const DMESG_PROBLEMS = /(BUG:|WARNING:|Oops|Kernel panic|general protection fault|Call Trace:|UBSAN:|KASAN:|refcount_t:)/;
export const DMESG_HEALTH_COMMAND = "dmesg 2>/dev/null | grep -E -A8 'BUG:|WARNING:|Oops|Kernel panic|general protection fault|Call Trace:|UBSAN:|KASAN:|refcount_t:' | head -n 60";
