// The rooms of the house and who may use whom (as Playwright's DEPS.list files do): a module may
// import only from the rooms its own room lists. vm/ knows no runner and no report; reports/ know
// no runner; the runner reaches the machines through vm/machine-set.ts, except where a room says why.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { execa } from 'execa';
import { repo } from '../helpers/cli.ts';

/** Room (a folder, or one file) → what its modules may import besides their own room. A path ending in / is a folder. */
export const RULES: Record<string, string[]> = {
  'vm/': [],
  'reports/': [],
  'runner/errors.ts': [],
  'runner/exit-codes.ts': [],
  'runner/protocol/': ['reports/model.ts', 'vm/types.ts', 'vm/env-limit.ts'],
  'runner/lab/': ['runner/errors.ts', 'reports/', 'vm/types.ts'],
  // Workers run the submission over SSH and the checks through the grading agent, and judge
  // `requires: modules` on the host's copy of the modules.
  'runner/playwright/': ['runner/protocol/', 'runner/lab/', 'reports/', 'vm/types.ts', 'vm/errors.ts', 'vm/ssh/', 'vm/agent/', 'vm/build/kernel-modules.ts'],
  'runner/orchestrate/': ['runner/errors.ts', 'runner/exit-codes.ts', 'runner/lab/', 'runner/protocol/', 'runner/playwright/config.ts', 'reports/',
    'vm/machine-set.ts', 'vm/types.ts', 'vm/events.ts', 'vm/errors.ts'],
  // Commands: `image` and `image box` build and pack on their own, the rest goes through orchestrate.
  'runner/cli/': ['runner/errors.ts', 'runner/exit-codes.ts', 'runner/lab/', 'runner/orchestrate/', 'reports/',
    'vm/machine-set.ts', 'vm/types.ts', 'vm/events.ts', 'vm/errors.ts', 'vm/runtime.ts', 'vm/build/', 'vm/vagrant/box.ts'],
};

const roomOf = (file: string) => Object.keys(RULES).filter((r) => (r.endsWith('/') ? file.startsWith(r) : file === r)).sort((a, b) => b.length - a.length)[0];
const within = (target: string, allowed: string) => (allowed.endsWith('/') ? target.startsWith(allowed) : target === allowed);

/** Relative imports of a module's source (static, dynamic, type-only, re-exports), as repository paths. */
export function importsOf(file: string, source: string): string[] {
  const specs = [...source.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"](\.{1,2}\/[^'"]+)['"]/gm)].map((m) => m[1]!);
  return specs.map((s) => normalize(join(dirname(file), s)));
}

/** Each import that breaks a rule, as "file → target". */
export function violations(modules: { file: string; source: string }[]): string[] {
  const out: string[] = [];
  for (const { file, source } of modules) {
    const room = roomOf(file);
    if (!room) { out.push(`${file}: in no room (add it to RULES)`); continue; }
    for (const target of importsOf(file, source)) {
      if (within(target, room) || RULES[room]!.some((a) => within(target, a))) continue;
      out.push(`${file} → ${target}`);
    }
  }
  return out;
}

test('every module of runner/, vm/ and reports/ imports only what its room allows', async () => {
  const files = (await execa('git', ['ls-files', '--cached', '--others', '--exclude-standard', 'runner', 'vm', 'reports'], { cwd: repo })).stdout
    .split('\n').filter((f) => f.endsWith('.ts') && !f.startsWith('reports/fixtures/'));
  assert.ok(files.length > 60, `only ${files.length} modules found`);
  const modules = files.map((file) => ({ file, source: readFileSync(join(repo, file), 'utf8') }));
  assert.deepEqual(violations(modules), []);
});

test('a wrong import is caught: vm/ using the runner, reports/ using the runner, the runner past vm/machine-set.ts', () => {
  const wrong = [
    { file: 'vm/qemu/machine.ts', source: "import { EXIT } from '../../runner/exit-codes.ts';" },
    { file: 'reports/html.ts', source: "import type { Lab } from '../runner/lab/schema.ts';" },
    { file: 'runner/orchestrate/vm-pool.ts', source: "const m = await import('../../vm/qemu/machine-set.ts');" },
    { file: 'runner/playwright/guard.ts', source: "export { x } from '../orchestrate/broker.ts';" },
    { file: 'runner/lab/load.ts', source: "import '../cli/cli.ts';" },
  ];
  assert.deepEqual(violations(wrong), [
    'vm/qemu/machine.ts → runner/exit-codes.ts',
    'reports/html.ts → runner/lab/schema.ts',
    'runner/orchestrate/vm-pool.ts → vm/qemu/machine-set.ts',
    'runner/playwright/guard.ts → runner/orchestrate/broker.ts',
    'runner/lab/load.ts → runner/cli/cli.ts',
  ]);
  assert.deepEqual(violations([{ file: 'runner/new-room/x.ts', source: '' }]), ['runner/new-room/x.ts: in no room (add it to RULES)']);
});
