// A machine's boot steps (lab.yaml machines.<m>.boot): run in order, each reported; the first that
// fails stops the boot with its command's last words and where lab.yaml has it; the snapshot key
// names them, and a machine without any keeps the key it had.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootStepsKey, runBootSteps } from '../../vm/boot-steps.ts';
import { BootStepError } from '../../vm/errors.ts';
import type { VmEvent } from '../../vm/events.ts';
import type { SshMachine } from '../../vm/ssh/client.ts';
import type { ExecResult } from '../../vm/types.ts';

function fakeSsh(results: Partial<ExecResult>[]) {
  const ran: { command: string; timeout?: number }[] = [];
  const ssh = {
    exec: async (command: string, opts: { timeout?: number }) => {
      ran.push({ command, timeout: opts.timeout });
      return { exitCode: 0, stdout: '', stderr: '', durationMs: 5, timedOut: false, truncated: false, ...results[ran.length - 1] };
    },
  } as unknown as SshMachine;
  return { ssh, ran };
}

test('boot steps run in order with their own time limits, each reported as an event', async () => {
  const { ssh, ran } = fakeSsh([{}, {}]);
  const events: VmEvent[] = [];
  await runBootSteps('host', ssh, [{ name: 'dockerd', run: 'dockerd &', timeoutMs: 120_000 }, { run: 'docker import - busybox\nmore', timeoutMs: 5000 }], (e) => events.push(e));
  assert.deepEqual(ran, [{ command: 'dockerd &', timeout: 120_000 }, { command: 'docker import - busybox\nmore', timeout: 5000 }]);
  assert.deepEqual(events.map((e) => e.type === 'boot-step' && e.name), ['dockerd', 'docker import - busybox']);
});

test('a failing boot step stops the boot: its exit, its output\'s last lines, its lab.yaml place and a fix', async () => {
  const { ssh, ran } = fakeSsh([{}, { exitCode: 1, stdout: Array.from({ length: 40 }, (_, i) => `line ${i}`).join('\n'), stderr: 'dockerd: failed to start' }, {}]);
  const err = await runBootSteps('node1', ssh, [{ run: 'a', timeoutMs: 1000 }, { name: 'dockerd', run: 'b', timeoutMs: 1000 }, { run: 'c', timeoutMs: 1000 }], () => {})
    .then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof BootStepError);
  assert.match(err.message, /^node1: boot step 2 "dockerd" \(lab\.yaml machines\.node1\.boot\[1\]\) exited 1:\n/);
  assert.match(err.message, /dockerd: failed to start$/);
  assert.ok(!err.message.includes('line 20\n'), 'only the last lines');
  assert.match(err.fix ?? '', /netlab-run shell <lab> node1/);
  assert.equal(ran.length, 2, 'the steps after it do not run');
});

test('a boot step past its time limit says so', async () => {
  const { ssh } = fakeSsh([{ exitCode: null, timedOut: true }]);
  await assert.rejects(runBootSteps('host', ssh, [{ run: 'sleep 999', timeoutMs: 2000 }], () => {}), /boot step 1 "sleep 999" .* did not finish in 2 s/);
});

test('the snapshot key names the boot steps (command and limit); none leaves the key as it was', () => {
  assert.deepEqual(bootStepsKey(), []);
  assert.deepEqual(bootStepsKey([{ run: 'x', timeoutMs: 1000 }]), ['1000:x']);
  assert.notDeepEqual(bootStepsKey([{ run: 'x', timeoutMs: 1000 }]), bootStepsKey([{ run: 'x', timeoutMs: 2000 }]));
});

test('an interrupted run stops the boot steps: the session is closed, and it is no failure of the step', async () => {
  const ac = new AbortController();
  let closed = 0;
  const ssh = {
    exec: async () => { ac.abort(); return { exitCode: null, stdout: '', stderr: '', durationMs: 5, timedOut: false, truncated: false }; },
    close: async () => { closed++; },
  } as unknown as SshMachine;
  const err = await runBootSteps('host', ssh, [{ run: 'dockerd', timeoutMs: 120_000 }, { run: 'never', timeoutMs: 1000 }], () => {}, ac.signal).then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof Error && !(err instanceof BootStepError), String(err));
  assert.match((err as Error).message, /stopped \(the run was interrupted\)/);
  assert.equal(closed, 1);
});
