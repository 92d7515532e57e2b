#!/usr/bin/env node
// The published entry point: TypeScript sources run through tsx, no build step.
import { register } from 'tsx/esm/api';

// `netlab-run --list | head -1`: a closed pipe ends the output quietly, as for any Unix tool.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => { if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0); throw err; });
}

register();
const { main } = await import('../runner/cli.ts');
await main(process.argv);
