// Trusted grading on labs/bridge: a class of forgeries (test/fixtures/submissions/forgeries/), each
// tried as a hostile root student would. Each earns exactly the points of what it really built, and
// staff see `tampered` with the reason; the honest row keeps full marks and is not flagged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repo, runCli } from '../helpers/cli.ts';

const FORGERIES = join(repo, 'test', 'fixtures', 'submissions', 'forgeries');

/** Per student: the points of what it really built, and what staff must see (undefined: not flagged). */
const EXPECTED: Record<string, { score: number; status: string; tampered?: RegExp }> = {
  honest: { score: 22, status: 'graded' },
  // Builds nothing: the shell functions in root's rc file never reach a check.
  'rc-functions': { score: 0, status: 'graded', tampered: /\/root\/\.bashrc/ },
  // The namespaces are real (1 point); the replaced ping is not what the checks run.
  'fake-ping': { score: 1, status: 'graded', tampered: /\/usr\/bin\/ping/ },
  'preload-and-bind': { score: 0, status: 'graded', tampered: /\/etc\/ld\.so\.preload \(added\).*\/usr\/sbin\//s },
  // Built correctly; the loop that would undo it left its cgroup and its tag, and was stopped anyway.
  'restoring-loop': { score: 22, status: 'graded', tampered: /outside the submission's cgroup/ },
  // Built correctly; the module does not load, the core dump helper is put back and reported.
  'kernel-tricks': { score: 22, status: 'graded', tampered: /kernel\.core_pattern was changed/ },
  // Nothing can be graded on a machine whose agent it killed: its own fault, never an infrastructure error.
  'kill-agent': { score: 0, status: 'crashed', tampered: /grading agent's port was closed/ },
};

function gradebook(file: string): Record<string, Record<string, string>> {
  const [head, ...rows] = readFileSync(file, 'utf8').trimEnd().split('\r\n')
    .map((l) => l.match(/("([^"]|"")*"|[^,]*)(,|$)/g)!.map((f) => f.replace(/,$/, '').replace(/^"|"$/g, '').replace(/""/g, '"')));
  return Object.fromEntries(rows.map((r) => [r[0]!, Object.fromEntries(head!.map((h, i) => [h, r[i] ?? '']))]));
}

test('forgeries earn exactly what they built, and staff see what they tried', async () => {
  const out = await mkdtemp(join(tmpdir(), 'netlab-trusted-'));
  try {
    const r = await runCli(['labs/bridge', '--submissions', FORGERIES, '--out', out], { timeoutMs: 12 * 60_000 });
    assert.equal(r.exitCode, 0, r.all);
    const rows = gradebook(join(out, 'gradebook.csv'));
    assert.deepEqual(Object.keys(rows).sort(), Object.keys(EXPECTED).sort());
    for (const [student, want] of Object.entries(EXPECTED)) {
      const row = rows[student]!;
      assert.deepEqual([Number(row.score), row.status], [want.score, want.status], `${student}: ${JSON.stringify(row)}`);
      if (want.tampered) assert.match(row.tampered!, want.tampered, student);
      else assert.equal(row.tampered, '', `${student} flagged: ${row.tampered}`);
      // The staff summary carries the reasons, and the student's own report says the run was flagged.
      const staff = JSON.parse(readFileSync(join(out, 'staff', student, 'summary.json'), 'utf8'));
      assert.equal(Boolean(staff.tampered?.length), Boolean(want.tampered), student);
      const html = readFileSync(join(out, student, 'index.html'), 'utf8');
      assert.equal(html.includes('data-testid="tampered"'), Boolean(want.tampered), student);
    }
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});

test('a lab that turns the kernel lock off can load modules, and its report says the kernel was not locked', async () => {
  const out = await mkdtemp(join(tmpdir(), 'netlab-unlocked-'));
  try {
    const r = await runCli([join('test', 'fixtures', 'labs', 'unlocked'), '--out', out], { timeoutMs: 5 * 60_000 });
    assert.equal(r.exitCode, 0, r.all);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    assert.equal(summary.kernel.locked, false);
    assert.deepEqual([summary.score, summary.maxScore], [2, 2]);
    assert.match(readFileSync(join(out, 'index.html'), 'utf8'), /data-testid="kernel-unlocked"/);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});
