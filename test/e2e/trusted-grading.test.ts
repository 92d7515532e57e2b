// Trusted grading on labs/bridge and on the two-machine NAT lab: classes of forgeries
// (test/fixtures/submissions/forgeries*/), each tried as a hostile root student would. Each earns
// exactly the points of what it really built, and staff see `tampered` with the reason; the honest
// row keeps full marks and is not flagged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { copyFile, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repo, runCli } from '../helpers/cli.ts';

const FORGERIES = join(repo, 'test', 'fixtures', 'submissions', 'forgeries');
const NAT_FORGERIES = join(repo, 'test', 'fixtures', 'submissions', 'forgeries-nat');

/** Per student: the points of what it really built, and what staff must see (undefined: not flagged). */
const EXPECTED: Record<string, { score: number; status: string; tampered?: RegExp[] }> = {
  honest: { score: 22, status: 'graded' },
  // Builds nothing: the shell functions in root's rc file never reach a check.
  'rc-functions': { score: 0, status: 'graded', tampered: [/\/root\/\.bashrc/] },
  // The namespaces are real (1 point); the replaced ping is not what the checks run.
  'fake-ping': { score: 1, status: 'graded', tampered: [/\/usr\/bin\/ping/] },
  'preload-and-bind': { score: 0, status: 'graded', tampered: [/\/etc\/ld\.so\.preload \(added\).*\/usr\/sbin\//s] },
  // Built correctly; the loop that would undo it left its cgroup and its tag, and was stopped anyway.
  'restoring-loop': { score: 22, status: 'graded', tampered: [/outside the submission's cgroup/] },
  // Built correctly; the module does not load, the core dump helper is put back and reported.
  'kernel-tricks': { score: 22, status: 'graded', tampered: [/kernel\.core_pattern was changed/] },
  // Nothing can be graded on a machine whose agent it killed: its own fault, never an infrastructure error.
  'kill-agent': { score: 0, status: 'tampered', tampered: [/grading agent's port was closed/] },
  // Builds nothing: root's login shell is the SSH server's, never the checks'.
  'replaced-shell': { score: 0, status: 'graded', tampered: [/\/etc\/passwd/] },
  // Built correctly, then broke its own SSH session by stopping the server and starting its own:
  // the checks run through the agent, so it keeps what it built, flagged.
  'sshd-swap': { score: 22, status: 'tampered', tampered: [/\(dropbear\) was stopped/, /an SSH server of its own/] },
  // The namespaces are real (1 point); the pcap it put where the capture is written is never counted.
  'fake-pcap': { score: 1, status: 'graded', tampered: [/\/run\/netlab\/cap\/br00\.pcap \(added\)/, /capture folder from outside it: \/run\/netlab\/cap\/br00\.pcap/] },
};

/** The NAT lab (host and outside, three stages; the wan capture is the host side of the link). */
const NAT_EXPECTED: Record<string, { score: number; status: string; tampered?: RegExp[] }> = {
  honest: { score: 21, status: 'graded' },
  // Stage 1 for real (8); no MASQUERADE, whatever iptables, the kernel log and a planted pcap say;
  // the port published for real (6), and the process that would undo it stopped although it called
  // itself a kept service.
  forged: { score: 14, status: 'graded', tampered: [/\/usr\/local\/sbin\/iptables \(added\)/, /called itself 'busybox httpd'.* runs \/usr\/bin\/bash/, /capture folder from outside it: \/run\/netlab\/cap\/wan\.pcap/] },
  // Stage 1 for real (8); the SSH server stopped after it, so the later stages could not run.
  'sshd-stopped': { score: 8, status: 'tampered', tampered: [/\(dropbear\) was stopped/] },
};

function gradebook(file: string): Record<string, Record<string, string>> {
  const [head, ...rows] = readFileSync(file, 'utf8').trimEnd().split('\r\n')
    .map((l) => l.match(/("([^"]|"")*"|[^,]*)(,|$)/g)!.map((f) => f.replace(/,$/, '').replace(/^"|"$/g, '').replace(/""/g, '"')));
  return Object.fromEntries(rows.map((r) => [r[0]!, Object.fromEntries(head!.map((h, i) => [h, r[i] ?? '']))]));
}

async function gradeClass(lab: string, submissions: string, expected: typeof EXPECTED): Promise<void> {
  const out = await mkdtemp(join(tmpdir(), 'netlab-trusted-'));
  try {
    const r = await runCli([lab, '--submissions', submissions, '--out', out], { timeoutMs: 15 * 60_000 });
    assert.equal(r.exitCode, 0, r.all);
    const rows = gradebook(join(out, 'gradebook.csv'));
    assert.deepEqual(Object.keys(rows).sort(), Object.keys(expected).sort());
    // Every student's score and status first, so one run names every row that is wrong.
    const wrong = Object.entries(expected).filter(([student, want]) => Number(rows[student]!.score) !== want.score || rows[student]!.status !== want.status)
      .map(([student, want]) => `${student}: want ${want.score} ${want.status}, got ${JSON.stringify(rows[student])}`);
    assert.deepEqual(wrong, []);
    for (const [student, want] of Object.entries(expected)) {
      const row = rows[student]!;
      for (const re of want.tampered ?? []) assert.match(row.tampered!, re, student);
      if (!want.tampered) assert.equal(row.tampered, '', `${student} flagged: ${row.tampered}`);
      // The staff summary carries the reasons, and the student's own report says the run was flagged.
      const staff = JSON.parse(readFileSync(join(out, 'staff', student, 'summary.json'), 'utf8'));
      assert.equal(Boolean(staff.tampered?.length), Boolean(want.tampered), student);
      const html = readFileSync(join(out, student, 'index.html'), 'utf8');
      assert.equal(html.includes('data-testid="tampered"'), Boolean(want.tampered), student);
    }
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}

test('forgeries on labs/bridge earn exactly what they built, and staff see what they tried', async () => {
  await gradeClass('labs/bridge', FORGERIES, EXPECTED);
});

test('forgeries on a two-machine lab (nat) earn exactly what they built, and staff see what they tried', async () => {
  // The honest row is the lab's own reference.
  const dir = await mkdtemp(join(tmpdir(), 'netlab-nat-forgeries-'));
  try {
    await copyFile(join(repo, 'labs', 'nat', 'solution', 'nat.sh'), join(dir, 'honest.sh'));
    for (const f of await readdir(NAT_FORGERIES)) await copyFile(join(NAT_FORGERIES, f), join(dir, f));
    await gradeClass('labs/nat', dir, NAT_EXPECTED);
  } finally {
    await rm(dir, { recursive: true, force: true });
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
