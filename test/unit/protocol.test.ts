import { test } from 'node:test';
import assert from 'node:assert/strict';
import { attachJson, readAttachment, readWire, wireEnv, WIRE_ENV } from '../../runner/protocol/wire.ts';
import { BrokerError, brokerClient } from '../../runner/protocol/broker-client.ts';

test('run settings travel to Playwright as one checked object in one variable', () => {
  const env = wireEnv({ broker: 'http://127.0.0.1:1/s', resultsFile: '/r.json', maxOutput: 4096 });
  assert.deepEqual(Object.keys(env), [WIRE_ENV]);
  assert.deepEqual(readWire(env), { broker: 'http://127.0.0.1:1/s', resultsFile: '/r.json', maxOutput: 4096 });
  assert.deepEqual(readWire({}), {});
  // A setting one side does not know is an error, not silently ignored: both sides ship together.
  assert.throws(() => readWire({ [WIRE_ENV]: JSON.stringify({ brokerUrl: 'x' }) }), /not what netlab-run writes/);
  assert.throws(() => wireEnv({ maxOutput: -1 }));
});

test('attachments are written and read back by name with their payload', async () => {
  const attachments: { name: string; body?: Buffer; contentType: string }[] = [];
  const info = { attach: async (name: string, o: { contentType: string; body: string }) => { attachments.push({ name, contentType: o.contentType, body: Buffer.from(o.body) }); } };
  await attachJson(info, 'netlab-crash', { machine: 'host', reason: 'powered off' });
  assert.equal(attachments[0]!.contentType, 'application/json');
  assert.deepEqual(readAttachment(attachments, 'netlab-crash'), { machine: 'host', reason: 'powered off' });
  assert.equal(readAttachment(attachments, 'netlab-final'), undefined);
});

test('the broker client refuses to run without a broker', async () => {
  await assert.rejects(brokerClient(undefined).acquire('u'), (e: Error) => e instanceof BrokerError && /not started by netlab-run/.test(e.message));
});
