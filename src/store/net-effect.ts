/**
 * The net effect of an apply's ops, key by key (see state-store.ts): what every implementation writes,
 * and what etcd needs because one Txn may touch a key only once.
 */
import { compareKeys } from './keys.js';
import type { PreparedOp } from './ops.js';
import type { StoreEvent } from './state-store.js';
import { lazyPutEvent } from './values.js';

export interface NetPut {
  text: string;
  lease?: string;
}

export interface NetEffect {
  /** The final put of every key that is put last. */
  puts: Map<string, NetPut>;
  /** Keys deleted one by one that no prefix below covers and that are not put later, in key order. */
  deletes: string[];
  /** Deleted prefixes, none inside another, in key order. The keys in `puts` under them survive. */
  prefixes: string[];
}

/** Pure: reduces ops (in order) to one action per key plus non-overlapping prefix deletions. */
export function computeNetEffect(ops: ReadonlyArray<PreparedOp>): NetEffect {
  const touched = new Map<string, NetPut | null>();
  const deleted: string[] = [];
  for (const op of ops) {
    if (op.op === 'put')
      touched.set(op.key, op.lease === undefined ? { text: op.text } : { text: op.text, lease: op.lease });
    else if (op.op === 'delete') touched.set(op.key, null);
    else {
      deleted.push(op.prefix);
      for (const key of touched.keys()) if (key.startsWith(op.prefix)) touched.set(key, null);
    }
  }
  const prefixes: string[] = [];
  for (const prefix of deleted.sort(compareKeys))
    if (!prefixes.some((outer) => prefix.startsWith(outer))) prefixes.push(prefix);
  const puts = new Map<string, NetPut>();
  const deletes: string[] = [];
  for (const [key, put] of touched) {
    if (put) puts.set(key, put);
    else if (!prefixes.some((p) => key.startsWith(p))) deletes.push(key);
  }
  return { puts, deletes: deletes.sort(compareKeys), prefixes };
}

/** The storage an implementation lets `executeNetEffect` change (inside its transaction). */
export interface NetEffectTarget {
  /** The keys under `prefix`, in key order. */
  keysUnder(prefix: string): string[];
  /** The key's create revision, or undefined when it does not exist. */
  createRevisionOf(key: string): number | undefined;
  remove(key: string): void;
  write(write: {
    key: string;
    text: string;
    revision: number;
    createRevision: number;
    lease: string | undefined;
  }): void;
}

/** Writes the net effect at `revision`; returns its events in key order (none = nothing changed). */
export function executeNetEffect(net: NetEffect, revision: number, target: NetEffectTarget): StoreEvent[] {
  const events: StoreEvent[] = [];
  const removed = (key: string) => {
    target.remove(key);
    events.push(Object.freeze({ type: 'delete', key, revision }));
  };
  for (const prefix of net.prefixes)
    for (const key of target.keysUnder(prefix)) if (!net.puts.has(key)) removed(key);
  for (const key of net.deletes) if (target.createRevisionOf(key) !== undefined) removed(key);
  for (const [key, { text, lease }] of net.puts) {
    const createRevision = target.createRevisionOf(key) ?? revision;
    target.write({ key, text, revision, createRevision, lease });
    // Watchers that never read the value never pay for parsing it.
    events.push(lazyPutEvent(key, revision, text));
  }
  return events.sort((a, b) => compareKeys(a.key, b.key));
}
