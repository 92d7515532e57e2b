import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';
import { parseDuration, parseMemory } from '../../runner/lab/duration.ts';
import { DOCS_FILE, renderDocs } from '../../runner/lab/docs-gen.ts';
import { SCHEMA_FILE } from '../../runner/lab/schema-gen.ts';
import { formatPath, labJsonSchema, labJsonSchemaText, slugify, type SchemaIssue } from '../../runner/lab/schema.ts';
import { labIssues, validLab } from '../helpers/schema.ts';

const base = () => ({
  name: 'bridge',
  title: 'T',
  machines: { host: { memory: '256M' }, router: null } as Record<string, unknown>,
  checks: [{ name: 'first', on: 'host', run: 'true' }] as Record<string, unknown>[],
}) as Record<string, any>;

const only = (input: unknown): SchemaIssue => {
  const list = labIssues(input);
  assert.equal(list.length, 1, `expected exactly one issue, got ${JSON.stringify(list, null, 1)}`);
  return list[0]!;
};

test('durations: units, bare seconds, errors', () => {
  assert.equal(parseDuration('60s'), 60_000);
  assert.equal(parseDuration('500ms'), 500);
  assert.equal(parseDuration('2m'), 120_000);
  assert.equal(parseDuration('1h'), 3_600_000);
  assert.equal(parseDuration('1.5s'), 1500);
  assert.equal(parseDuration(' 10 s '), 10_000);
  assert.equal(parseDuration(30), 30_000);
  assert.equal(parseDuration('30'), 30_000);
  assert.equal(parseDuration(0), 0);
  assert.throws(() => parseDuration('ten'), /not a duration/);
  assert.throws(() => parseDuration('10d'), /not a duration/);
  assert.throws(() => parseDuration(-1), /not a duration/);
});

test('memory: M/G suffixes and bare MiB', () => {
  assert.equal(parseMemory('256M'), 256);
  assert.equal(parseMemory('1G'), 1024);
  assert.equal(parseMemory('1.5G'), 1536);
  assert.equal(parseMemory('512MiB'), 512);
  assert.equal(parseMemory('2gb'), 2048);
  assert.equal(parseMemory(384), 384);
  assert.equal(parseMemory('384'), 384);
  assert.throws(() => parseMemory('lots'), /not a memory size/);
  assert.throws(() => parseMemory(0), /not a memory size/);
});

test('a minimal lab gets every default', () => {
  const lab = validLab(base());
  assert.equal(lab.kernel, 'debian:bookworm');
  assert.deepEqual(lab.machines, { host: { memory: 256, cpus: 1, packages: [], docker: false, boot: [] }, router: { memory: 256, cpus: 1, packages: [], docker: false, boot: [] } });
  assert.deepEqual(lab.links, []);
  assert.deepEqual(lab.setup, []);
  assert.deepEqual(lab.captures, []);
  assert.deepEqual(lab.collect, []);
  assert.equal(lab.submission, undefined);
  assert.deepEqual(lab.checks[0], {
    kind: 'run', name: 'first', id: 'first', on: 'host', run: 'true', expect: { exitCode: 0 },
    timeout: 30_000, interval: 1000, points: 1, visibility: 'visible',
  });
  assert.equal(lab.checks[0]!.kind, 'run');
});

test('packages: Debian package names only (they reach mmdebstrap as they are), with the fix', () => {
  assert.deepEqual(validLab({ ...base(), machines: { host: { packages: ['jq', 'libc6-dev', 'g++', 'python3.11'] } } }).machines.host!.packages, ['jq', 'libc6-dev', 'g++', 'python3.11']);
  for (const bad of ['--include=x', 'jq=1.6', 'Jq', 'a b', 'x']) {
    const issue = only({ ...base(), machines: { host: { packages: [bad] } } });
    assert.equal(formatPath(issue.path), 'machines.host.packages[0]');
    assert.match(issue.message, /^expected a Debian package name .*found /);
    assert.equal(issue.fix, 'e.g. packages: [jq, socat]');
  }
});

test('durations, memory, steps, submission, captures, links and collect are normalised', () => {
  const l = base();
  l.machines = { host: { memory: '1G', cpus: 2, kernel: 'debian:trixie' }, peer: { memory: 128 } };
  l.links = [{ name: 'lan', machines: ['host', 'peer'], addresses: { host: '10.0.0.1/24', peer: 'fd00::2/64' } }];
  l.setup = [{ on: 'host', run: 'modprobe vxlan' }, { name: 'quick', on: 'peer', run: 'true', timeout: '500ms' }];
  l.submission = { file: 'bridge.sh', run: 'bash bridge.sh up', on: 'host' };
  l.captures = [{ name: 'br', on: 'host', interface: 'br00' }];
  l.collect = ['ip -d addr', { on: 'peer', run: 'bridge fdb' }, { run: 'ip route', name: 'routes' }];
  const lab = validLab(l);
  assert.deepEqual(lab.machines.host, { memory: 1024, cpus: 2, kernel: 'debian:trixie', packages: [], docker: false, boot: [] });
  assert.equal(lab.machines.peer!.memory, 128);
  // A machine's boot steps: a 120 s limit by default, durations as elsewhere; an unknown key is refused.
  l.machines.host = { boot: [{ name: 'dockerd', run: 'dockerd &' }, { run: 'true', timeout: '5s' }] };
  assert.deepEqual(validLab(l).machines.host!.boot, [{ name: 'dockerd', run: 'dockerd &', timeout: 120_000 }, { run: 'true', timeout: 5000 }]);
  l.machines.host = { boot: [{ run: 'true', on: 'host' }] };
  assert.throws(() => validLab(l));
  assert.deepEqual(lab.links[0], { name: 'lan', machines: ['host', 'peer'], mtu: 1500, addresses: { host: '10.0.0.1/24', peer: 'fd00::2/64' } });
  assert.deepEqual(lab.setup.map((s) => s.timeout), [60_000, 500]);
  assert.equal(lab.submission!.timeout, 120_000);
  assert.deepEqual(lab.captures[0], { name: 'br', on: 'host', interface: 'br00', filter: '', start: 'after-submission' });
  assert.deepEqual(lab.collect, [
    { on: '*', run: 'ip -d addr', name: 'ip -d addr' },
    { on: 'peer', run: 'bridge fdb', name: 'bridge fdb' },
    { on: '*', run: 'ip route', name: 'routes' },
  ]);
});

test('checks: expect defaults, exitCode any, capture checks, ids from names', () => {
  const l = base();
  l.captures = [{ name: 'br', on: 'host', interface: 'br00' }];
  l.checks = [
    { name: 'Net1 → net2 (ping)!', on: 'host', run: 'ping', expect: { stdout: { contains: '2 received' } }, until: '10s' },
    { name: 'b', on: 'host', run: 'x', expect: { exitCode: 'any', stderr: { matches: '^ok$' } }, interval: '250ms' },
    { name: 'arp', capture: 'br', expect: { packets: 'arp', atLeast: 2 }, points: 2 },
    { name: 'any packet', id: 'custom.id_1', capture: 'br' },
  ];
  const [a, b, c, d] = validLab(l).checks;
  assert.ok(a && b && c && d);
  assert.equal(a.id, 'net1-net2-ping');
  assert.equal(a.until, 10_000);
  assert.deepEqual(a.kind === 'run' && a.expect, { exitCode: 0, stdout: { contains: '2 received' } });
  assert.deepEqual(b.kind === 'run' && b.expect, { exitCode: 'any', stderr: { matches: '^ok$' } });
  assert.equal(b.interval, 250);
  assert.equal(c.kind, 'capture');
  assert.deepEqual(c.kind === 'capture' && c.expect, { packets: 'arp', atLeast: 2 });
  assert.equal(c.points, 2);
  assert.equal(d.id, 'custom.id_1');
  assert.deepEqual(d.kind === 'capture' && d.expect, { packets: '', atLeast: 1 });
  assert.notEqual(c.kind, 'run');
});

test('slugify makes ids from names', () => {
  assert.equal(slugify('net1 reaches net2 through the bridge'), 'net1-reaches-net2-through-the-bridge');
  assert.equal(slugify('Café: ÉTÉ'), 'cafe-ete');
  assert.equal(slugify('!!!'), 'check');
});

test('wrong types name the path, what was expected and what was found', () => {
  const l = base();
  l.checks[0]!.points = 'three';
  const i = only(l);
  assert.deepEqual(i.path, ['checks', 0, 'points']);
  assert.equal(i.message, 'expected a number, found "three"');
});

test('unknown keys are errors, with a suggestion', () => {
  const l = base();
  l.checks[0]!.timout = '3s';
  const i = only(l);
  assert.deepEqual(i.path, ['checks', 0, 'timout']);
  assert.equal(i.at, 'key');
  assert.equal(i.message, 'unknown key "timout"');
  assert.match(i.fix!, /did you mean "timeout"\?/);
});

test('a misspelt required key is one problem, not two', () => {
  const l = base();
  l.chekcs = l.checks;
  delete l.checks;
  const i = only(l);
  assert.deepEqual(i.path, ['chekcs']);
  assert.match(i.message, /unknown key "chekcs"; the required key "checks" is missing/);
});

test('a check has exactly one of run, capture and spec', () => {
  const both = base();
  both.checks[0]!.capture = 'br';
  assert.match(only(both).message, /exactly one of run .*, capture .* or spec .*, found run and capture/);
  const neither = base();
  neither.checks = [{ name: 'x' }];
  assert.match(only(neither).message, /needs run .*, capture .* or spec .*, found none/);
  const capOn = base();
  capOn.captures = [{ name: 'br', on: 'host', interface: 'br00' }];
  capOn.checks.push({ name: 'c', capture: 'br', on: 'host' });
  const i = only(capOn);
  assert.deepEqual(i.path, ['checks', 1, 'on']);
  assert.match(i.fix!, /set on: in captures/);
});

test('a key of another kind of check says where it belongs, on run, capture and spec checks alike', () => {
  const cases: [Record<string, unknown>, string, RegExp][] = [
    [{ name: 'r', on: 'host', run: 'true', expect: { atLeast: 2 } }, 'checks[1].expect.atLeast', /^atLeast belongs to capture checks/],
    [{ name: 'c', capture: 'br', expect: { stdout: { contains: 'x' } } }, 'checks[1].expect.stdout', /^stdout belongs to run checks/],
    [{ name: 'c', capture: 'br', partial: 'fraction' }, 'checks[1].partial', /^partial belongs to run checks/],
    [{ name: 's', spec: 'checks.spec.ts#ping', expect: { exitCode: 0 } }, 'checks[1].expect', /^a spec check is judged by its function .*; remove expect here$/],
    [{ name: 's', spec: 'checks.spec.ts#ping', partial: 'fraction' }, 'checks[1].partial', /^a spec check earns partial credit by returning .*; remove partial here$/],
  ];
  for (const [check, path, fix] of cases) {
    const l = base();
    l.captures = [{ name: 'br', on: 'host', interface: 'br0' }];
    l.checks.push(check);
    const i = only(l);
    assert.equal(formatPath(i.path), path);
    assert.equal(i.at, 'key');
    assert.match(i.fix!, fix, `${path}: ${i.fix}`);
  }
});

test('a misspelt key on a spec check is named with its correction, like on a run check', () => {
  for (const check of [{ name: 's', spec: 'checks.spec.ts#ping', pionts: 2 }, { name: 'r', on: 'host', run: 'true', pionts: 2 }]) {
    const l = base();
    l.checks = [check];
    const i = only(l);
    assert.deepEqual(i.path, ['checks', 0, 'pionts']);
    assert.match(i.message, /^unknown key "pionts"/);
    assert.match(i.fix!, /did you mean "points"\?/);
  }
});

test('a missing required field says what it is for', () => {
  const l = base();
  delete l.checks[0]!.on;
  const i = only(l);
  assert.deepEqual(i.path, ['checks', 0, 'on']);
  assert.match(i.message, /^missing \(required\): Machine the command runs on/);
});

test('every machine reference must name a declared machine', () => {
  const l = base();
  l.links = [{ name: 'lan', machines: ['host', 'nohost'], addresses: { router: '10.0.0.1/24' } }];
  l.setup = [{ on: 'hots', run: 'x' }];
  l.submission = { file: 'a.sh', run: 'bash a.sh', on: 'nope' };
  l.captures = [{ name: 'br', on: 'rooter', interface: 'br0' }];
  l.checks[0]!.on = 'nohost';
  l.collect = [{ on: 'x', run: 'y' }, { on: '*', run: 'z' }];
  const list = labIssues(l);
  const at = (p: string) => list.find((i) => formatPath(i.path) === p);
  assert.match(at('links[0].machines[1]')!.message, /no machine named "nohost"; this lab's machines are "host", "router"/);
  assert.match(at('links[0].addresses.router')!.message, /"router" is not on link "lan"/);
  assert.match(at('setup[0].on')!.message, /no machine named "hots"/);
  assert.equal(at('setup[0].on')!.fix, 'did you mean "host"?');
  assert.ok(at('submission.on'));
  assert.equal(at('captures[0].on')!.fix, 'did you mean "router"?');
  assert.ok(at('checks[0].on'));
  assert.match(at('collect[0].on')!.message, /or "\*" for all/);
  assert.equal(list.length, 7);
});

test('a capture check must name a declared capture', () => {
  const l = base();
  l.captures = [{ name: 'br', on: 'host', interface: 'br00' }];
  l.checks.push({ name: 'arp', capture: 'bridge' });
  const i = only(l);
  assert.deepEqual(i.path, ['checks', 1, 'capture']);
  assert.equal(i.message, 'no capture named "bridge"; this lab\'s captures are "br"');
});

test('check names and ids are unique, ids derived from names included', () => {
  const l = base();
  l.checks.push({ name: 'first', on: 'host', run: 'y' }, { name: 'First!', on: 'host', run: 'z' });
  const list = labIssues(l);
  assert.equal(list.length, 2);
  assert.deepEqual(list[0]!.path, ['checks', 1, 'name']);
  assert.match(list[0]!.message, /duplicate check name "first": checks\[0\] already uses it/);
  assert.deepEqual(list[1]!.path, ['checks', 2, 'id']);
  assert.match(list[1]!.message, /duplicate check id "first"/);
  const caps = base();
  caps.captures = [{ name: 'br', on: 'host', interface: 'a' }, { name: 'br', on: 'host', interface: 'b' }];
  assert.match(only(caps).message, /duplicate capture name "br"/);
});

test('regular expressions are compiled at load; text expectations take exactly one form', () => {
  const l = base();
  l.checks[0]!.expect = { stdout: { matches: 'default via (10' } };
  const i = only(l);
  assert.deepEqual(i.path, ['checks', 0, 'expect', 'stdout', 'matches']);
  assert.match(i.message, /^not a valid regular expression: Unterminated group/);
  const two = base();
  two.checks[0]!.expect = { stdout: { contains: 'a', equals: 'b' } };
  assert.match(only(two).message, /expected one of contains, matches or equals, found contains and equals/);
  const list = base();
  list.checks[0]!.expect = { stdout: { contains: ['a', 2] } };
  assert.deepEqual(only(list).path, ['checks', 0, 'expect', 'stdout', 'contains', 1]);
});

test('values out of range and bad formats', () => {
  const l = base();
  l.machines = { host: { memory: '64M' }, Bad_Name: {} };
  l.checks[0]!.timeout = 'ten';
  l.checks[0]!.visibility = 'secret';
  l.checks[0]!.expect = { exitCode: 'zero' };
  const list = labIssues(l);
  const msg = (p: string) => list.find((i) => formatPath(i.path) === p)?.message;
  assert.match(msg('machines.host.memory')!, /at least 96 MiB/);
  assert.match(msg('machines.Bad_Name')!, /expected a name like "host"/);
  assert.equal(msg('checks[0].timeout'), 'expected a duration such as 30s, 500ms, 2m, 1h, or a number of seconds, found "ten"');
  assert.equal(msg('checks[0].visibility'), 'expected "visible" or "hidden" or "after_due_date", found "secret"');
  assert.equal(msg('checks[0].expect.exitCode'), 'expected an exit code (a whole number) or "any", found "zero"');
  const cap = base();
  cap.captures = [{ name: 'br', on: 'host', interface: 'br0' }];
  cap.checks = [{ name: 'c', capture: 'br', expect: { atLeast: 3, atMost: 1 } }];
  assert.equal(only(cap).message, 'expected atMost ≥ atLeast (3), found 1');
  assert.match(only({ ...base(), checks: [] }).message, /expected at least one check/);
  assert.match(only({ ...base(), machines: {} }).message, /expected at least one machine/);
  assert.equal(only('hello').message, 'expected a mapping (key: value), found "hello"');
});

test('labs/lab.schema.json is up to date (run npm run schema)', () => {
  const committed = readFileSync(SCHEMA_FILE, 'utf8');
  assert.ok(committed === labJsonSchemaText(), 'labs/lab.schema.json is stale: run `npm run schema` and commit the result');
});

test('docs/lab-format.md is up to date (run npm run schema)', () => {
  const committed = readFileSync(DOCS_FILE, 'utf8');
  assert.ok(committed === renderDocs(), 'docs/lab-format.md is stale: run `npm run schema` and commit the result');
});

test('the JSON Schema accepts what the loader accepts (input side: "60s", "256M") and rejects typos', () => {
  const schema = z.fromJSONSchema(labJsonSchema() as Parameters<typeof z.fromJSONSchema>[0]);
  const fixture = (name: string) => parse(readFileSync(new URL(`../fixtures/labs/${name}/lab.yaml`, import.meta.url), 'utf8'));
  assert.equal(schema.safeParse(fixture('valid-full')).success, true);
  assert.equal(schema.safeParse(fixture('valid-minimal')).success, true);
  assert.equal(schema.safeParse(fixture('unknown-key')).success, false);
  assert.equal(schema.safeParse(fixture('wrong-type')).success, false);
  const props = (labJsonSchema().properties ?? {}) as Record<string, { default?: unknown }>;
  assert.equal(props.kernel?.default, 'debian:bookworm');
  assert.deepEqual(props.setup?.default, []);
});

test('lock: locked with no extra modules by default; extra modules and the opt-out are read; a bad module name is named', () => {
  assert.deepEqual(validLab(base()).lock, { enabled: true, modules: [] });
  assert.deepEqual(validLab({ ...base(), lock: { modules: ['br_netfilter'] } }).lock, { enabled: true, modules: ['br_netfilter'] });
  assert.deepEqual(validLab({ ...base(), lock: { enabled: false } }).lock, { enabled: false, modules: [] });
  const i = only({ ...base(), lock: { modules: ['br netfilter; reboot'] } });
  assert.deepEqual(i.path, ['lock', 'modules', 0]);
  assert.match(i.message, /module name such as br_netfilter/);
});
