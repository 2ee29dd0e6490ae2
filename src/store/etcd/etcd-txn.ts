/**
 * Pure translation of an apply into one etcd Txn. etcd rejects a Txn that touches a key twice or puts a
 * key inside a range it deletes, so the ops are first reduced to their net effect (net-effect.ts), and a
 * deleted prefix that has later puts under it becomes several delete ranges that skip exactly those keys
 * ([prefix, put1), [put1 + "\0", put2), ..., [putN + "\0", prefixEnd)). That keeps the apply ONE Txn —
 * atomic, with no read first and no retry — at the cost of at most 2 × puts + 1 operations per prefix.
 */
import type { ICompare, IRequestOp, ITxnRequest, ITxnResponse } from 'etcd3';
import type { FailedCondition } from '../errors.js';
import type { NetEffect } from '../net-effect.js';
import type { StoreCondition, StoreFence } from '../state-store.js';

export interface ByteRange {
  start: Buffer;
  end: Buffer;
}

/** The byte range of every key that starts with `prefix` (etcd's prefix range). */
export function prefixRange(prefix: string): ByteRange {
  const start = Buffer.from(prefix);
  const end = Buffer.from(start);
  for (let i = end.length - 1; i >= 0; i--) {
    if ((end[i] as number) < 0xff) {
      end[i] = (end[i] as number) + 1;
      return { start, end: end.subarray(0, i + 1) };
    }
  }
  return { start, end: Buffer.from([0]) }; // "\0" means "to the end of the keyspace"
}

/** [start, end) minus the given keys (sorted, inside the range), as non-empty ranges. */
export function splitRange(range: ByteRange, holes: ReadonlyArray<Buffer>): ByteRange[] {
  const out: ByteRange[] = [];
  let start = range.start;
  for (const hole of holes) {
    if (Buffer.compare(start, hole) < 0) out.push({ start, end: hole });
    start = Buffer.concat([hole, Buffer.from([0])]);
  }
  if (Buffer.compare(start, range.end) < 0 || isOpenEnd(range.end)) out.push({ start, end: range.end });
  return out;
}

function isOpenEnd(end: Buffer): boolean {
  return end.length === 1 && end[0] === 0;
}

export interface BuiltTxn {
  request: ITxnRequest;
  /** The keys read by the failure branch, in order: the condition keys, then the fence key. */
  checked: string[];
  /** The number of write operations (etcd limits it with --max-txn-ops, default 128). */
  operations: number;
}

/** Builds the Txn: compares (conditions, fence), writes in key order, reads of the compared keys on failure. */
export function buildTxn(
  namespace: string,
  net: NetEffect,
  conditions: ReadonlyArray<StoreCondition>,
  fence: StoreFence | undefined,
): BuiltTxn {
  const bytes = (key: string) => Buffer.from(namespace + key);
  const compare: ICompare[] = conditions.map((c) =>
    c.revision === 0
      ? { key: bytes(c.key), target: 'Create', result: 'Equal', create_revision: 0 }
      : { key: bytes(c.key), target: 'Mod', result: 'Equal', mod_revision: c.revision },
  );
  if (fence)
    compare.push({
      key: bytes(fence.key),
      target: 'Create',
      result: 'Equal',
      create_revision: fence.createRevision,
    });
  const writes: { at: Buffer; op: IRequestOp }[] = [];
  const putKeys = [...net.puts.keys()].map(bytes).sort(Buffer.compare);
  for (const [key, put] of net.puts) {
    const request_put = {
      key: bytes(key),
      value: Buffer.from(put.text),
      ...(put.lease ? { lease: put.lease } : {}),
    };
    writes.push({ at: request_put.key, op: { request_put } });
  }
  for (const key of net.deletes)
    writes.push({ at: bytes(key), op: { request_delete_range: { key: bytes(key) } } });
  for (const prefix of net.prefixes) {
    const range = prefixRange(namespace + prefix);
    const inside = putKeys.filter(
      (k) => Buffer.compare(k, range.start) >= 0 && Buffer.compare(k, range.end) < 0,
    );
    for (const { start, end } of splitRange(range, inside))
      writes.push({ at: start, op: { request_delete_range: { key: start, range_end: end } } });
  }
  writes.sort((a, b) => Buffer.compare(a.at, b.at));
  const checked = [...conditions.map((c) => c.key), ...(fence ? [fence.key] : [])];
  const failure = [...new Set(checked)].map((key) => ({ request_range: { key: bytes(key) } }));
  return {
    request: { compare, success: writes.map((w) => w.op), failure },
    checked,
    operations: writes.length,
  };
}

/** From a failed Txn's reads: every condition (and the fence) that did not hold. */
export function failedConditions(
  namespace: string,
  response: ITxnResponse,
  conditions: ReadonlyArray<StoreCondition>,
  fence: StoreFence | undefined,
): FailedCondition[] {
  const found = new Map<string, { revision: number; createRevision: number }>();
  for (const r of response.responses ?? []) {
    const kv = r.response_range?.kvs?.[0];
    if (kv)
      found.set(kv.key.toString().slice(namespace.length), {
        revision: Number(kv.mod_revision),
        createRevision: Number(kv.create_revision),
      });
  }
  const failed: FailedCondition[] = [];
  for (const { key, revision } of conditions) {
    const actual = found.get(key)?.revision ?? 0;
    if (actual !== revision) failed.push({ key, expected: revision, actual });
  }
  if (fence) {
    const actual = found.get(fence.key)?.createRevision ?? 0;
    if (actual !== fence.createRevision)
      failed.push({ key: fence.key, expected: fence.createRevision, actual, fence: true });
  }
  return failed;
}
