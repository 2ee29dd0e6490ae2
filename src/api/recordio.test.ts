import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeRecords, encodeRecord } from './recordio.js';

async function* chunked(buf: Buffer, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

test('records survive any chunking, multi-byte characters included', async () => {
  const records = [{ type: 'SUBSCRIBED' }, { text: 'héllo – 世界' }, { n: 42, list: [1, 2, 3] }];
  const wire = Buffer.concat(records.map(encodeRecord));
  for (const size of [1, 2, 7, wire.length]) {
    const out: unknown[] = [];
    for await (const r of decodeRecords(chunked(wire, size))) out.push(r);
    assert.deepEqual(out, records, `chunk size ${size}`);
  }
});

test('the length prefix counts bytes, not characters', () => {
  const wire = encodeRecord({ s: 'é' }).toString('utf8');
  assert.equal(wire.split('\n')[0], String(Buffer.byteLength('{"s":"é"}')));
});

test('a truncated stream or a bad prefix is an error', async () => {
  const wire = encodeRecord({ a: 1 });
  await assert.rejects(async () => {
    for await (const _ of decodeRecords(chunked(wire.subarray(0, wire.length - 1), 4))) void _;
  }, /inside a RecordIO record/);
  await assert.rejects(async () => {
    for await (const _ of decodeRecords(chunked(Buffer.from('xx\n{}'), 4))) void _;
  }, /bad RecordIO length/);
});
