// The HTML report as a pure string: escaping, hidden checks, structure, offline-only, topology.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sampleResult, XSS } from '../../reports/fixtures/sample-result.ts';
import { esc, safeRelativeHref } from '../../reports/html-escape.ts';
import { renderHtml } from '../../reports/html.ts';
import { topologySvg } from '../../reports/topology-svg.ts';

const count = (html: string, re: RegExp) => (html.match(new RegExp(re.source, 'g')) ?? []).length;
const checkTags = (html: string) => html.match(/<details class="check[^>]*>/g) ?? [];

test('esc escapes markup, quotes and control characters', () => {
  assert.equal(esc(`<a href="x" onclick='y'>&</a>`), '&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
  assert.equal(esc('\x1b[31mred\x1b[0m\x07 ok\r\n'), 'red· ok\n');
  assert.equal(esc(undefined), '');
});

test('student output is text: the only <script> element is the report\'s own', () => {
  const html = renderHtml(sampleResult());
  assert.ok(!html.includes(XSS));
  assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot; &#39;single&#39;'));
  assert.equal(count(html, /<script\b/i), 1);
  assert.equal(count(html, /<\/script>/i), 1);
});

test('every run string is escaped, in names, commands, hints and topology too', () => {
  const r = sampleResult();
  const evil = '<img src=x onerror=alert(2)>';
  r.lab.title = evil;
  r.kernel.version = evil;
  r.checks[0]!.name = evil;
  r.checks[2]!.hint = `\`${evil}\``;
  r.checks[2]!.commands[0]!.command = evil;
  r.checks[2]!.commands[0]!.stderr = evil;
  r.captures[0]!.packets[0]!.summary = evil;
  r.captures[0]!.filter = evil;
  r.topology.machines[0]!.name = evil;
  r.topology.links[0]!.name = evil;
  r.collected[0]!.machine = evil;
  r.error = evil;
  const html = renderHtml(r);
  assert.ok(!html.includes('<img'), 'no raw <img> anywhere');
  assert.ok(html.includes('<code>&lt;img src=x onerror=alert(2)&gt;</code>'), 'backticks in a hint become <code>, escaped');
});

test('offline: no external URL, a CSP that allows no network, only relative links', () => {
  const html = renderHtml(sampleResult());
  assert.ok(!/(https?:)?\/\/[a-z]/i.test(html.replace(/file:\/\//g, '')), 'no URL with a host');
  assert.match(html, /<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'sha256-[^']+'; script-src 'sha256-[^']+'/);
  for (const [, href] of html.matchAll(/href="([^"]*)"/g)) assert.match(href!, /^(#|[a-z0-9_./-]+$)/i, href);
  assert.ok(!/\ssrc=/.test(html.replace(/&lt;[^&]*&gt;/g, '')));
  assert.ok(html.includes('<a href="captures/br.pcap" download'));
});

test('refuses link targets that leave the report folder', () => {
  for (const bad of ['javascript:alert(1)', 'http://x/y.pcap', '/etc/passwd', '../x.pcap', 'a/../../b']) assert.equal(safeRelativeHref(bad), null, bad);
  assert.equal(safeRelativeHref('captures/br 1.pcap'), 'captures/br%201.pcap');
  const r = sampleResult();
  r.captures[0]!.file = 'javascript:alert(1)';
  assert.ok(!renderHtml(r).includes('javascript:'));
});

test('header: title, kernel, image hash, accel, submission, date, duration, score and status', () => {
  const html = renderHtml(sampleResult());
  for (const s of ['Linux bridge between two namespaces', 'debian-6.1', '6.1.0-28-amd64', '3f9a1c7e5b2d4a60', 'KVM',
    'alice (solution.sh)', '2025-03-14 09:26 UTC', '48 s']) assert.ok(html.includes(s), s);
  assert.match(html, /data-testid="score">8<span class="max"> \/ 10<\/span>/);
  assert.match(html, /<span class="pill failed" data-testid="status">Failed<\/span>/);
  assert.match(html, /<title>8\/10 · Linux bridge between two namespaces/);
});

test('checks are <details> in order, with status, points; failed ones carry class, hint, expected and got', () => {
  const r = sampleResult();
  const html = renderHtml(r);
  const tags = checkTags(html);
  assert.equal(tags.length, r.checks.length);
  assert.deepEqual(tags.map((t) => /data-status="([^"]+)"/.exec(t)![1]), ['passed', 'passed', 'failed', 'passed', 'hidden', 'skipped']);
  assert.ok(tags.every((t) => !/\sopen/.test(t)), 'all collapsed');
  assert.match(tags[2]!, /class="check failed"/);
  const failed = html.slice(html.indexOf(tags[2]!), html.indexOf(tags[3]!));
  for (const s of ['data-testid="hint"', 'icmp_echo_ignore_all', 'exit code 0 (ping answered)', 'exit code 1 after 3 attempts',
    'Traffic must cross br0', '0 / 2', '$ </span>ip netns exec ns1 ping -c 2 -W 1 10.0.0.2', 'exit 1', 'attempt 3',
    'data-testid="timed-out"', 'data-testid="truncated"', 'data-testid="stderr"', 'killed']) assert.ok(failed.includes(s), s);
  const passed = html.slice(html.indexOf(tags[0]!), html.indexOf(tags[1]!));
  assert.ok(!passed.includes('data-testid="hint"'), 'no hint on a passed check');
  assert.ok(html.includes('not graded on this kernel'), 'skip reason shown');
});

test('hidden checks show points only, unless showHidden', () => {
  const r = sampleResult();
  r.checks.push({ ...r.checks[4]!, id: 'later', name: 'Graded later', visibility: 'after_due_date', hint: 'secret hint', status: 'failed', points: 0 });
  const student = renderHtml(r);
  for (const secret of ['mtu-secret', 'VXLAN underlay', '/sys/class/net/br0/mtu', 'Graded later', 'secret hint']) {
    assert.ok(!student.includes(secret), `student view leaks ${secret}`);
  }
  assert.equal(count(student, /data-status="hidden"/), 2);
  assert.ok(student.includes('Hidden check'));
  assert.match(student, /data-status="hidden">.*?data-testid="check-points">2 \/ 2</s);
  const staff = renderHtml(r, { showHidden: true });
  for (const s of ['mtu-secret', 'VXLAN underlay', '/sys/class/net/br0/mtu', 'Graded later', 'secret hint']) assert.ok(staff.includes(s), s);
  assert.equal(count(staff, /data-status="hidden"/), 0);
});

test('captures, setup, final state grouped by machine', () => {
  const html = renderHtml(sampleResult());
  assert.equal(count(html, /data-testid="packet-row"/), 4);
  assert.ok(html.includes('First 4 of 6 packets'));
  assert.ok(html.includes('Request who-has 10.0.0.2 tell 10.0.0.1'));
  assert.ok(html.includes('data-testid="capture-error">capture wan on gw:eth2 has no packets file'));
  assert.ok(!html.includes('captures/wan.pcap'), 'no download link for a capture that failed');
  assert.match(html, /Lab setup <span class="muted">\(2 commands\)/);
  assert.match(html, /Submission: alice \(solution\.sh\) <span class="muted">\(1 command\)/);
  const final = html.slice(html.indexOf('data-testid="final-state"'));
  assert.deepEqual([...final.matchAll(/<summary>([a-z]+) <span class="muted">/g)].map((m) => m[1]), ['alpha', 'beta', 'gw']);
});

test('error runs show a banner; empty runs still render', () => {
  const r = sampleResult();
  Object.assign(r, { status: 'error', error: 'VM alpha did not boot in 240 s', checks: [], captures: [], setup: [], collected: [], topology: { machines: [], links: [] } });
  const html = renderHtml(r);
  assert.ok(html.includes('data-testid="run-error"'));
  assert.ok(html.includes('VM alpha did not boot in 240 s'));
  assert.ok(html.includes('No check ran.'));
  assert.ok(!html.includes('data-testid="topology"'));
});

test('topology SVG: a box per machine, a bar per link labelled with name and MTU, a wire per linked interface', () => {
  const svg = topologySvg(sampleResult().topology);
  assert.match(svg, /^<svg data-testid="topology"/);
  assert.equal(count(svg, /class="topo-machine/), 3);
  assert.equal(count(svg, /class="topo-link"/), 2);
  assert.ok(svg.includes('lan · MTU 1500') && svg.includes('wan · MTU 1450'));
  assert.equal(count(svg, /class="topo-joint"/), 4, 'alpha eth1, beta eth1, gw eth1, gw eth2');
  assert.ok(svg.includes('topo-port-dot unlinked'), 'br0 has no link');
  const [, w, h] = /viewBox="0 0 (\d+) (\d+(?:\.\d+)?)"/.exec(svg)!;
  assert.ok(Number(w) > 300 && Number(h) > 100);
  for (const [, x] of svg.matchAll(/\bx="(-?[\d.]+)"/g)) assert.ok(Number(x) >= 0 && Number(x) <= Number(w), `x=${x} inside`);
});

test('topology SVG draws machines named only by links and links named only by interfaces', () => {
  const svg = topologySvg({ machines: [{ name: 'a', interfaces: [{ name: 'vx0', link: 'overlay' }] }], links: [{ name: 'lan', machines: ['a', 'b'] }] });
  assert.equal(count(svg, /class="topo-machine/), 2);
  assert.ok(svg.includes('class="topo-machine ghost" data-machine="b"'));
  assert.ok(svg.includes('data-link="overlay"'));
  assert.equal(topologySvg({ machines: [], links: [] }), '');
});

test('the header says when the lab left the kernel unlocked; a capture of a link says it was taken on the host', () => {
  const r = sampleResult();
  assert.doesNotMatch(renderHtml(r), /data-testid="kernel-unlocked"|data-testid="capture-host-side"/);
  r.kernel = { ...r.kernel, locked: false };
  r.captures[0]!.side = 'host';
  const html = renderHtml(r);
  assert.match(html, /data-testid="kernel-unlocked">not locked/);
  assert.match(html, /data-testid="capture-host-side">taken on the host side of the link/);
});
