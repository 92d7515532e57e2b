import { createHash } from 'node:crypto';
import { homedir } from 'node:os';
import { join } from 'node:path';

// Builds live outside the repo so a clean checkout never carries images or kernels.
export function cacheRoot(): string {
  if (process.env.NETLAB_CACHE) return process.env.NETLAB_CACHE;
  const xdg = process.env.XDG_CACHE_HOME;
  return join(xdg && xdg.length > 0 ? xdg : join(homedir(), '.cache'), 'netlab-run');
}

// Stable short hash of a recipe: anything that changes the build output must be part of `parts`.
export function recipeHash(...parts: unknown[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(typeof p === 'string' ? p : JSON.stringify(p)).update('\0');
  return h.digest('hex').slice(0, 16);
}
