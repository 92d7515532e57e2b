import { execa } from 'execa';
import { fileURLToPath } from 'node:url';

export const repo = fileURLToPath(new URL('../..', import.meta.url));
export const cliPath = `${repo}bin/netlab-run.mjs`;

/** Runs the real CLI as a user would, never throwing on a non-zero exit. */
export function runCli(args: string[], opts: { env?: Record<string, string>; timeoutMs?: number; cwd?: string } = {}) {
  return execa(process.execPath, [cliPath, ...args], {
    reject: false, all: true, cwd: opts.cwd ?? repo, timeout: opts.timeoutMs ?? 30_000,
    env: { NO_COLOR: '1', ...opts.env }, extendEnv: true,
  });
}
