// Runs in Playwright's runner process: the config every netlab run gives Playwright; the run's own config is JSON that netlab-run wrote
// (runner/playwright/config.ts says why this file never changes).
import { readFileSync } from 'node:fs';

const file = process.env.NETLAB_PLAYWRIGHT_CONFIG;
if (!file) throw new Error('NETLAB_PLAYWRIGHT_CONFIG is not set: this config is for netlab-run, which sets it');
export default JSON.parse(readFileSync(file, 'utf8'));
