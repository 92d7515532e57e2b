// decodePcap against the host's real tcpdump, on pcap files written by the test.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { IP_A, IP_B, MAC_A, MAC_B, samplePcap } from '../../reports/fixtures/pcap-bytes.ts';
import { decodePcap } from '../../reports/pcap.ts';

// What a capture check counts: the packets matching its pcap-filter expression.
const countPackets = async (f: string, filter = '') => (await decodePcap(f, { filter, limit: 0 })).packetCount;

let dir: string;
const file = (name: string) => join(dir, name);

before(async () => {
  const r = await execa('tcpdump', ['--version'], { reject: false });
  assert.equal(r.exitCode, 0, 'tcpdump is missing: run scripts/setup.sh (Debian package tcpdump)');
  dir = await mkdtemp(join(tmpdir(), 'netlab-pcap-'));
  const bytes = samplePcap();
  await writeFile(file('sample.pcap'), bytes);
  await writeFile(file('cut.pcap'), bytes.subarray(0, bytes.length - 10));
  await writeFile(file('header-only.pcap'), bytes.subarray(0, 24));
  await writeFile(file('empty.pcap'), Buffer.alloc(0));
});
after(async () => { if (dir) await rm(dir, { recursive: true, force: true }); });

test('decodes every packet: number, time since the first, tcpdump -e summary with MACs', async () => {
  const { packetCount, packets, warning } = await decodePcap(file('sample.pcap'));
  assert.equal(packetCount, 6);
  assert.equal(warning, undefined);
  assert.deepEqual(packets.map((p) => p.no), [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(packets.map((p) => p.time), ['0.000000', '0.000412', '0.000530', '0.000611', '1.001873', '1.001950']);
  assert.equal(packets[0]!.summary,
    `${MAC_A} > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 42: Request who-has ${IP_B} tell ${IP_A}, length 28`);
  assert.match(packets[1]!.summary, new RegExp(`^${MAC_B} > ${MAC_A}, .*Reply ${IP_B} is-at ${MAC_B}`));
  assert.match(packets[2]!.summary, new RegExp(`${IP_A} > ${IP_B}: ICMP echo request, id 4660, seq 1`));
  assert.match(packets[5]!.summary, new RegExp(`${IP_B} > ${IP_A}: ICMP echo reply, id 4660, seq 2`));
});

test('limit lists the first packets but counts them all; filter selects', async () => {
  const limited = await decodePcap(file('sample.pcap'), { limit: 2 });
  assert.equal(limited.packetCount, 6);
  assert.equal(limited.packets.length, 2);
  const icmp = await decodePcap(file('sample.pcap'), { filter: 'icmp[icmptype] == icmp-echoreply' });
  assert.equal(icmp.packetCount, 2);
  assert.deepEqual(icmp.packets.map((p) => p.no), [1, 2]);
  assert.match(icmp.packets[0]!.summary, /echo reply/);
  assert.equal((await decodePcap(file('sample.pcap'), { limit: 0 })).packets.length, 0);
});

test('countPackets counts matches of a pcap-filter expression', async () => {
  assert.equal(await countPackets(file('sample.pcap'), 'arp'), 2);
  assert.equal(await countPackets(file('sample.pcap'), 'icmp'), 4);
  assert.equal(await countPackets(file('sample.pcap'), `ether src ${MAC_B}`), 3);
  assert.equal(await countPackets(file('sample.pcap'), 'udp port 4789'), 0);
  assert.equal(await countPackets(file('sample.pcap')), 6);
  assert.equal(await countPackets(file('header-only.pcap'), 'arp'), 0);
});

test('an invalid filter throws tcpdump\'s message', async () => {
  await assert.rejects(countPackets(file('sample.pcap'), 'icmp and'), (e: Error) => {
    assert.match(e.message, /can't parse filter expression: syntax error/);
    assert.match(e.message, /filter: icmp and/);
    return true;
  });
  await assert.rejects(countPackets(file('sample.pcap'), 'port 99999'), /port 99999|illegal|out of range/i);
});

test('a missing or headerless file throws; a capture cut mid-packet keeps what was read', async () => {
  await assert.rejects(decodePcap(file('nope.pcap')), /nope\.pcap: No such file or directory/);
  await assert.rejects(decodePcap(file('empty.pcap')), /truncated dump file/);
  const cut = await decodePcap(file('cut.pcap'));
  assert.equal(cut.packetCount, 5);
  assert.match(cut.warning ?? '', /truncated dump file/);
});

test('reads a file that tcpdump itself wrote', async () => {
  await execa('tcpdump', ['-r', file('sample.pcap'), '-w', file('written.pcap'), 'arp']);
  const { packetCount, packets } = await decodePcap(file('written.pcap'));
  assert.equal(packetCount, 2);
  assert.match(packets[1]!.summary, /Reply 10\.0\.0\.2 is-at/);
});

test('a missing tcpdump binary says how to install it', async () => {
  const saved = process.env.NETLAB_TCPDUMP;
  process.env.NETLAB_TCPDUMP = join(dir, 'no-such-tcpdump');
  try {
    await assert.rejects(decodePcap(file('sample.pcap')), /tcpdump not found .*scripts\/setup\.sh/);
  } finally {
    if (saved === undefined) delete process.env.NETLAB_TCPDUMP; else process.env.NETLAB_TCPDUMP = saved;
  }
});
