import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findLabs, LabError, loadLab } from '../../runner/lab/load.ts';

const LABS = fileURLToPath(new URL('../fixtures/labs/', import.meta.url));
const lab = (name: string) => join(LABS, name);
const shown = (name: string) => relative(process.cwd(), join(lab(name), 'lab.yaml'));

// Line and column (1-based) of `needle` inside the first line of the fixture that contains `line`.
function where(name: string, line: string, needle = line): { line: number; column: number } {
  const lines = readFileSync(join(lab(name), 'lab.yaml'), 'utf8').split('\n');
  const i = lines.findIndex((l) => l.includes(line));
  assert.ok(i >= 0, `fixture ${name} has no line with ${line}`);
  return { line: i + 1, column: lines[i]!.indexOf(needle) + 1 };
}

async function labError(path: string): Promise<LabError> {
  try {
    await loadLab(path);
  } catch (err) {
    assert.ok(err instanceof LabError, `expected a LabError, got ${String(err)}`);
    assert.equal(err.exitCode, 2);
    return err;
  }
  return assert.fail(`expected ${path} to be rejected`);
}

test('a full lab loads with defaults applied, from its folder or its lab.yaml', async () => {
  const loaded = await loadLab(lab('valid-full'));
  assert.equal(loaded.dir, lab('valid-full').replace(/\/$/, ''));
  assert.equal(loaded.file, join(lab('valid-full'), 'lab.yaml'));
  assert.deepEqual(loaded.specFiles, [join(lab('valid-full'), 'reachability.spec.ts')]);
  const l = loaded.lab;
  assert.equal(l.name, 'bridge');
  assert.deepEqual(l.machines, { host: { memory: 256, cpus: 1, packages: [], docker: false, boot: [] }, peer: { memory: 128, cpus: 1, kernel: 'debian:trixie', packages: [], docker: false, boot: [] } });
  assert.deepEqual(l.links[0], { name: 'lan', machines: ['host', 'peer'], mtu: 1500, addresses: { host: '192.168.56.11/24', peer: '192.168.56.12/24' } });
  assert.deepEqual(l.setup.map((s) => [s.on, s.timeout]), [['host', 30_000], ['peer', 60_000]]);
  assert.deepEqual(l.submission, { file: 'bridge.sh', run: 'bash bridge.sh up', on: 'host', timeout: 60_000, reference: 'solution/bridge.sh', keep: [] });
  assert.equal(l.checks.length, 7);
  const [ping, addr, vlan, arp, icmp, partial, spec] = l.checks;
  assert.ok(spec?.kind === 'spec');
  assert.deepEqual({ id: spec.id, spec: spec.spec, on: spec.on, points: spec.points, timeout: spec.timeout }, { id: 'the-bridge-learned-both-namespaces-macs', spec: 'reachability.spec.ts#bridgeLearnedBoth', on: 'host', points: 2, timeout: 30_000 });
  assert.ok(ping?.kind === 'run' && addr?.kind === 'run' && vlan?.kind === 'run');
  assert.deepEqual(
    { id: ping.id, timeout: ping.timeout, until: ping.until, interval: ping.interval, points: ping.points, expect: ping.expect },
    { id: 'ping-net1-net2', timeout: 30_000, until: 10_000, interval: 500, points: 3, expect: { exitCode: 0, stdout: { contains: '2 received' } } },
  );
  assert.equal(addr.id, 'br00-has-the-gateway-address');
  assert.deepEqual(addr.expect, { exitCode: 0, stdout: { matches: '10\\.100\\.0\\.1/24' } });
  assert.equal(vlan.expect.exitCode, 'any');
  assert.deepEqual(vlan.requires, { modules: ['bridge'], kernel: '>=5.15' });
  assert.ok(arp?.kind === 'capture' && icmp?.kind === 'capture');
  assert.deepEqual(arp.expect, { packets: 'arp', atLeast: 2 });
  assert.deepEqual(icmp.expect, { packets: 'icmp', atLeast: 1, atMost: 20 });
  assert.ok(partial?.kind === 'run');
  assert.deepEqual([ping.group, arp.group, partial.partial], ['reachability', 'reachability', { lines: '^ok ', of: 2 }]);
  assert.deepEqual(l.groups, { reachability: { max: 4 } });
  assert.deepEqual(l.collect, [{ on: '*', run: 'ip -d addr', name: 'ip -d addr' }, { on: 'host', run: 'bridge fdb', name: 'bridge fdb' }]);

  const viaFile = await loadLab(join(lab('valid-full'), 'lab.yaml'));
  assert.deepEqual(viaFile.lab, loaded.lab);
});

test('YAML syntax errors point at the line and column', async () => {
  const err = await labError(lab('bad-yaml'));
  const at = where('bad-yaml', 'expect: { stdout: [', '}');
  assert.equal(err.file, shown('bad-yaml'));
  assert.equal(err.line, at.line);
  assert.match(err.message, new RegExp(`^${shown('bad-yaml')}:${at.line}:\\d+: YAML syntax: `));
  assert.match(err.message, /\n {2}fix: /);
});

test('a wrong type names the path, the line, what was expected and found', async () => {
  const err = await labError(lab('wrong-type'));
  const at = where('wrong-type', 'points: three', 'three');
  assert.equal(err.message, `${shown('wrong-type')}:${at.line}:${at.column}: checks[1].points: expected a number, found "three"`);
  assert.deepEqual([err.line, err.column], [at.line, at.column]);
});

test('an unknown key (a typo) is named, at the key, with a suggestion', async () => {
  const err = await labError(lab('unknown-key'));
  const at = where('unknown-key', 'chekcs:');
  assert.deepEqual([err.line, err.column], [at.line, 1]);
  assert.match(err.message, /: chekcs: unknown key "chekcs"; the required key "checks" is missing\n {2}fix: did you mean "checks"\?/);
  assert.equal(err.issues.length, 1);
});

test('a check on an undeclared machine points at that line and lists the machines', async () => {
  const err = await labError(lab('unknown-machine'));
  const at = where('unknown-machine', 'on: nohost', 'nohost');
  assert.equal(err.message, [
    `${shown('unknown-machine')}:${at.line}:${at.column}: checks[1].on: no machine named "nohost"; this lab's machines are "host", "router"`,
    '  fix: did you mean "host"?',
  ].join('\n'));
});

test('a capture check naming an unknown capture', async () => {
  const err = await labError(lab('unknown-capture'));
  const at = where('unknown-capture', 'capture: bridge', 'bridge');
  assert.deepEqual([err.line, err.column], [at.line, at.column]);
  assert.match(err.message, /checks\[0\]\.capture: no capture named "bridge"; this lab's captures are "br"/);
});

test('duplicate check names point at the second one', async () => {
  const err = await labError(lab('duplicate-names'));
  const lines = readFileSync(join(lab('duplicate-names'), 'lab.yaml'), 'utf8').split('\n');
  const second = lines.map((l, i) => (l.includes('name: ping works') ? i + 1 : 0)).filter(Boolean).at(-1);
  assert.equal(err.line, second);
  assert.match(err.message, /checks\[1\]\.name: duplicate check name "ping works": checks\[0\] already uses it/);
});

test('a bad regular expression is a lab error', async () => {
  const err = await labError(lab('bad-regex'));
  const at = where('bad-regex', 'matches:', '"default');
  assert.deepEqual([err.line, err.column], [at.line, at.column]);
  assert.match(err.message, /checks\[0\]\.expect\.stdout\.matches: not a valid regular expression: Unterminated group/);
});

test('a missing reference solution is a lab error', async () => {
  const err = await labError(lab('missing-reference'));
  const at = where('missing-reference', 'reference:', 'solution');
  assert.deepEqual([err.line, err.column], [at.line, at.column]);
  assert.match(err.message, /submission\.reference: no file solution\/setup\.sh in the lab folder/);
});

test('a check with both run and capture is a lab error', async () => {
  const err = await labError(lab('run-and-capture'));
  assert.equal(err.line, where('run-and-capture', 'name: confused').line);
  assert.match(err.message, /checks\[0\]: a check has exactly one of run .*, capture .* or spec .*, found run and capture/);
});

test('every problem is listed, in file order, at most 10 of them', async () => {
  const err = await labError(lab('many-problems'));
  assert.ok(err.issues.length > 10, `expected more than 10 issues, got ${err.issues.length}`);
  const lines = err.message.split('\n').filter((l) => !l.startsWith('  fix:'));
  assert.equal(lines.length, 11);
  assert.match(lines[10]!, new RegExp(`^… and ${err.issues.length - 10} more problems in `));
  const positions = err.issues.map((i) => i.line! * 1000 + i.column!);
  assert.deepEqual(positions, [...positions].sort((a, b) => a - b));
  assert.ok(err.issues.some((i) => i.path === 'machines.router.memroy' && i.fix?.includes('did you mean "memory"')));
});

test('an empty lab.yaml, a missing path and a folder without lab.yaml', async () => {
  assert.match((await labError(lab('empty-file'))).message, /:1:1: the file is empty/);
  const missing = await labError(join(LABS, 'no-such-lab'));
  assert.match(missing.message, /no-such-lab: no such file or folder/);
  assert.equal(missing.line, undefined);
  const notLab = await labError(join(lab('valid-full'), 'solution'));
  assert.match(notLab.message, /no lab\.yaml in .*solution; a lab is a folder with lab\.yaml/);
});

test('findLabs: a folder of labs, a lab folder, a lab.yaml; sorted, absolute, de-duplicated', async () => {
  const all = await findLabs([LABS]);
  const expected = readdirSync(LABS).sort().map((d) => join(LABS, d, 'lab.yaml'));
  assert.deepEqual(all, expected);
  const some = await findLabs([lab('valid-full'), join(lab('valid-full'), 'lab.yaml'), relative(process.cwd(), lab('wrong-type'))]);
  assert.deepEqual(some, [join(lab('valid-full'), 'lab.yaml'), join(lab('wrong-type'), 'lab.yaml')]);
  assert.ok(all.every((f) => f === resolve(f)));
});

test('findLabs: a folder that is neither a lab nor holds labs is an error saying what was expected', async () => {
  await assert.rejects(findLabs([join(lab('valid-full'), 'solution')]), (err: unknown) => {
    assert.ok(err instanceof LabError);
    assert.match(err.message, /not a lab: expected lab\.yaml in .*solution, or sub-folders that each hold one \(like labs\/\*\/lab\.yaml\)/);
    return true;
  });
  await assert.rejects(findLabs([join(LABS, 'nope')]), /nope: no such file or folder/);
});

test('spec checks: a missing export, file or a file that throws, and an unused *.spec.ts are lab errors at their lines', async () => {
  const err = await labError(lab('spec-problems'));
  const file = shown('spec-problems');
  const unused = relative(process.cwd(), join(lab('spec-problems'), 'unused.spec.ts'));
  const at = (needle: string) => { const w = where('spec-problems', needle, needle.split(': ')[1]); return `${file}:${w.line}:${w.column}`; };
  assert.deepEqual(err.issues.map((i) => `${i.line === undefined ? i.file : `${i.file}:${i.line}:${i.column}`} ${i.path} ${i.message}`), [
    `${unused}  no check in ${file} names unused.spec.ts`,
    `${at('spec: good.spec.ts#nope')} checks[0].spec good.spec.ts has no exported function "nope"`,
    `${at('spec: missing.spec.ts#check')} checks[1].spec no file missing.spec.ts beside lab.yaml`,
    `${at('spec: throws.spec.ts')} checks[2].spec throws.spec.ts does not load: boom while loading`,
  ]);
  assert.match(err.issues[1]!.fix!, /it exports "works"; name one as good\.spec\.ts#<name>/);
});
