#!/usr/bin/env node
// The published entry point.
import { cliBundle } from './cli-bundle.mjs';

// `netlab-run --list | head -1`: a closed pipe ends the output quietly, as for any Unix tool.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => { if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0); throw err; });
}

// The bundle of the same sources starts ~0.5 s sooner (bin/cli-bundle.mjs); NETLAB_TSX=1, a checkout
// where it cannot be written, or an installed package without its packed bundle runs the sources
// through tsx.
const bundle = process.env.NETLAB_TSX === '1' ? undefined : await cliBundle();
let cli;
if (bundle) {
  cli = await import(bundle);
} else {
  (await import('tsx/esm/api')).register();
  cli = await import('../runner/cli/cli.ts');
}
await cli.main(process.argv);
