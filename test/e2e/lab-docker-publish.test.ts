// The docker-publish lab end to end on real VMs: Docker (a `docker: true` machine) publishes a
// container's port, the student publishes a namespace of their own with Docker's rules by hand, and
// a second VM reaches both through the host's address. One `netlab-run verify` run: the reference
// grades full marks, each typical mistake its exact score.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { assertFullMarks, assertNotTampered, assertVerified, labVerifier, testMistakes } from '../helpers/lab-verify.ts';

const LAB = 'docker-publish';
const MAX = 19;

const mistakes: [string, number, string[], RegExp][] = [
  ['prerouting-only.sh', 11, ['hand-like-docker', 'hand-sees-client', 'hand-syn-ack', 'host-reaches-hand', 'outside-reaches-hand'], /FORWARD chain's policy to DROP/],
  ['no-forward-accept.sh', 13, ['hand-like-docker', 'hand-sees-client', 'hand-syn-ack', 'outside-reaches-hand'], /-j ACCEPT/],
  ['loopback-only.sh', 12, ['docker-dnat-rule', 'docker-syn-ack', 'hand-like-docker', 'outside-reaches-docker', 'web-published', 'web-sees-client'], /127\.0\.0\.1/],
  // Docker's work under hand's name earns none of the by-hand points that look at hand itself.
  ['docker-for-hand.sh', 13, ['hand-dnat-rule', 'hand-like-docker', 'hand-sees-client', 'hand-serves'], /a container publishes 8081|no network namespace hand/],
];

// The first run on a machine builds the image with Docker and the snapshot with dockerd up.
const verified = labVerifier(LAB, { timeoutMs: 900_000 });

test(`verify: the reference and the ${mistakes.length} examples grade as lab.yaml declares, exit 0`, async () => {
  assertVerified(await verified(), MAX, mistakes);
});

test(`the reference (docker run -p 8080:80, then hand published as 8081 by hand) grades ${MAX}/${MAX}`, async () => {
  const ref = (await verified()).example('reference');
  assertFullMarks(ref, MAX);
  for (const c of ['wan', 'docker0']) assert.ok(existsSync(join(ref.dir, `captures/${c}.pcap`)), c);
  const stdoutOf = (id: string) => ref.result.checks.find((c) => c.id === id)!.commands.at(-1)!.stdout;
  // Docker's rules, read from the kernel, and the student's beside them: the same shape.
  assert.match(stdoutOf('docker-dnat-rule'), /-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172\.17\.0\.2:80/);
  assert.match(stdoutOf('docker-forward-accept'), /FORWARD policy: -P FORWARD DROP/);
  assert.match(stdoutOf('hand-like-docker'), /same DNAT rule\nsame ACCEPT rule/);
  assert.match(stdoutOf('docker-proxy'), /"docker-proxy"/);
});

test('Docker\'s own processes are never taken for tampering: the container, dockerd, docker-proxy', async () => {
  assertNotTampered(await verified(), ['reference', ...mistakes.map(([f]) => f.replace(/\.sh$/, ''))]);
});

testMistakes(verified, MAX, mistakes);
