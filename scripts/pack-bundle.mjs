// npm's prepack and postpack: `node scripts/pack-bundle.mjs` builds the CLI bundle a package carries
// (bin/cli-bundle.mjs says why), `--clean` removes it again so a checkout keeps no stale copy.
import { rm } from 'node:fs/promises';
import { relative } from 'node:path';
import { PACKED_DIR, packBundle } from '../bin/cli-bundle.mjs';

if (process.argv[2] === '--clean') {
  await rm(PACKED_DIR, { recursive: true, force: true });
} else {
  const file = await packBundle();
  // stderr: `npm pack --json` keeps stdout for its JSON.
  console.error(`pack-bundle: ${relative(process.cwd(), file)}`);
}
