import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { computeNetEffect } from '../net-effect.js';
import { prepareOps } from '../ops.js';
import type { StoreOp } from '../state-store.js';
import { buildTxn, prefixRange, splitRange } from './etcd-txn.js';

const b = (s: string) => Buffer.from(s);
const show = (r: { start: Buffer; end: Buffer }) => [r.start.toString('latin1'), r.end.toString('latin1')];

function txnOf(ops: StoreOp[]) {
  return buildTxn('/ns/', computeNetEffect(prepareOps(ops)), [], undefined).request;
}

function describeOps(ops: StoreOp[]): string[] {
  return (txnOf(ops).success ?? []).map((op) => {
    if (op.request_put) return `put ${op.request_put.key?.toString()}=${op.request_put.value?.toString()}`;
    const d = op.request_delete_range;
    return d?.range_end
      ? `delete [${d.key?.toString()}, ${d.range_end.toString('latin1')})`
      : `delete ${d?.key?.toString()}`;
  });
}

describe('etcd txn building', () => {
  test('prefixRange increments the last byte below 0xff', () => {
    assert.deepEqual(show(prefixRange('/ns/a')), ['/ns/a', '/ns/b']);
    // UTF-8 never contains 0xff, so the last byte can always be incremented
    assert.deepEqual([...prefixRange('x\u{10FFFF}').end], [0x78, 0xf4, 0x8f, 0xbf, 0xc0]);
  });

  test('splitRange cuts out exactly the given keys', () => {
    const range = { start: b('p/'), end: b('p0') };
    assert.deepEqual(splitRange(range, [b('p/'), b('p/b')]).map(show), [
      ['p/\0', 'p/b'],
      ['p/b\0', 'p0'],
    ]);
    assert.deepEqual(splitRange(range, []).map(show), [['p/', 'p0']]);
  });

  test('one op per key, in key order; deletePrefix skips keys put after it', () => {
    assert.deepEqual(
      describeOps([
        { op: 'put', key: 'p/a', value: 1 },
        { op: 'deletePrefix', prefix: 'p/' },
        { op: 'put', key: 'p/b', value: 2 },
        { op: 'put', key: 'p/b', value: 3 },
        { op: 'delete', key: 'q' },
        { op: 'delete', key: 'p/x' },
        { op: 'deletePrefix', prefix: 'p/b/' },
      ]),
      ['delete [/ns/p/, /ns/p/b)', 'put /ns/p/b=3', 'delete [/ns/p/b\0, /ns/p0)', 'delete /ns/q'],
    );
  });

  test('conditions compare mod_revision, revision 0 compares create_revision, the fence create_revision', () => {
    const built = buildTxn(
      '/ns/',
      computeNetEffect([]),
      [
        { key: 'a', revision: 0 },
        { key: 'b', revision: 7 },
      ],
      {
        key: 'leader',
        createRevision: 3,
      },
    );
    assert.deepEqual(
      built.request.compare?.map((c) => [c.key?.toString(), c.target, c.create_revision ?? c.mod_revision]),
      [
        ['/ns/a', 'Create', 0],
        ['/ns/b', 'Mod', 7],
        ['/ns/leader', 'Create', 3],
      ],
    );
    assert.deepEqual(built.checked, ['a', 'b', 'leader']);
    assert.equal(built.request.failure?.length, 3);
    assert.equal(built.operations, 0);
  });
});
