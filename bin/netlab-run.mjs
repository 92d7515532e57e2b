#!/usr/bin/env node
// The published entry point: TypeScript sources run through tsx, no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../runner/cli.ts');
await main(process.argv);
