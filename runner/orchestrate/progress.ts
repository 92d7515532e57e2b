import { createColors } from 'picocolors';
import { terminalSafeFields } from '../../reports/terminal-safe.ts';
import type { VmEvent } from '../../vm/events.ts';

// Renders vm/ events for people: short lines on stderr (stdout stays for results and --json).
export function progressPrinter(opts: { verbose: boolean }) {
  const useColor = !process.env.NO_COLOR && !!process.stderr.isTTY;
  const c = createColors(useColor);
  const out = (s: string) => process.stderr.write(`${c.dim('netlab')} ${s}\n`);
  let mirrorSaid = '';
  return (raw: VmEvent): void => {
    // Console lines and reasons carry guest text.
    const e = terminalSafeFields(raw);
    switch (e.type) {
      case 'mirror': {
        // The image build and each kernel fetch choose it; one line unless the choice changes.
        const line = `mirror: ${e.uri} ${c.dim(`(${e.reason}${opts.verbose && e.keyring ? `; keyring ${e.keyring}` : ''})`)}`;
        if (line !== mirrorSaid) out(line);
        mirrorSaid = line;
        break;
      }
      case 'image-build':
        if (e.phase !== 'progress' || opts.verbose) out(`image: ${e.message}${e.ms ? c.dim(` (${(e.ms / 1000).toFixed(1)} s)`) : ''}`);
        break;
      case 'kernel-fetch':
        if (e.phase !== 'progress' || opts.verbose) out(`kernel ${e.kernel}: ${e.message}${e.ms ? c.dim(` (${(e.ms / 1000).toFixed(1)} s)`) : ''}`);
        break;
      case 'accel': out(`accel: ${e.accel} ${c.dim(`(${e.reason})`)}`); break;
      case 'boot-start': if (opts.verbose || e.attempt > 1) out(`${e.machine}: booting${e.attempt > 1 ? ` (attempt ${e.attempt})` : ''}`); break;
      case 'boot-line': if (opts.verbose) out(c.dim(`${e.machine}| ${e.line}`)); break;
      case 'boot-ready': out(`${e.machine}: ready in ${(e.ms / 1000).toFixed(1)} s`); break;
      case 'boot-step': out(`${e.machine}: boot step "${e.name}" ${e.exitCode === 0 ? 'done' : 'failed'} in ${(e.ms / 1000).toFixed(1)} s`); break;
      case 'boot-retry': out(c.yellow(`${e.machine}: boot failed, retrying: ${e.reason.split('\n')[0]}`)); break;
      case 'machine-stop': if (opts.verbose) out(`${e.machine}: stopped`); break;
      case 'machine-limit': out(c.yellow(`${e.machine}: ${e.reason}`)); break;
      case 'cleanup': out(c.yellow(e.message)); break;
      case 'snapshot':
        if (e.phase === 'dropped') out(c.yellow(`${e.machine}: snapshot not usable (${e.message ?? 'unknown'}); booting cold`));
        else if (opts.verbose || e.phase === 'saved') out(`${e.machine}: snapshot ${e.phase} in ${(e.ms / 1000).toFixed(1)} s`);
        break;
    }
  };
}
