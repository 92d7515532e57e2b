import { existsSync, statSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { UsageError } from '../errors.ts';
import type { LoadedLab } from './load.ts';

// What a run grades: the file given with --submission, or else the lab's reference solution.
export function resolveSubmission(loaded: LoadedLab, given: string | undefined): { path: string; label: string } | null {
  const sub = loaded.lab.submission;
  if (!sub) {
    if (given) throw new UsageError(`lab ${loaded.lab.name} takes no submission, but --submission ${given} was given`, 'drop --submission for this lab');
    return null;
  }
  if (given) {
    const path = resolve(given);
    if (!existsSync(path)) throw new UsageError(`submission file not found: ${given}`, `check the path; the lab expects a file it runs as: ${sub.run}`);
    if (!statSync(path).isFile()) throw new UsageError(`submission must be a file: ${given}`);
    return { path, label: relative(process.cwd(), path) || path };
  }
  if (sub.reference) {
    const path = resolve(loaded.dir, sub.reference);
    return { path, label: `reference solution (${relative(process.cwd(), path)})` };
  }
  throw new UsageError(`lab ${loaded.lab.name} grades a submission and has no reference solution`, `pass one: netlab-run ${relative(process.cwd(), loaded.dir) || '.'} --submission ${sub.file}`);
}
