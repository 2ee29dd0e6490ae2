import { Etcd3 } from 'etcd3';
import type { IKeyValue, IOptions } from 'etcd3';
import {
  StoreClosedError,
  StoreCompactedError,
  StoreConflictError,
  StoreLeaseNotFoundError,
  StoreOpenError,
} from '../errors.js';
import { makeLease } from '../expiry-timer.js';
import { checkKey, checkPrefix } from '../keys.js';
import { computeNetEffect } from '../net-effect.js';
import {
  checkCompactRevision,
  checkConditions,
  checkFence,
  checkLimit,
  checkTtl,
  checkWatch,
  prepareOps,
} from '../ops.js';
import type {
  ApplyOptions,
  Lease,
  ListOptions,
  StateStore,
  StoreEntry,
  StoreEvent,
  StoreOp,
  StoreWatch,
  WatchOptions,
} from '../state-store.js';
import { decodeValue } from '../values.js';
import { hostBreakers } from './etcd-breaker.js';
import { isFutureRevisionError, toStoreError } from './etcd-errors.js';
import { buildTxn, failedConditions, prefixRange } from './etcd-txn.js';
import { EtcdWatch } from './etcd-watch.js';
import type { EtcdWatchContext } from './etcd-watch.js';

export interface EtcdStoreOptions {
  /** Client URLs, e.g. ["http://10.0.0.1:2379", "http://10.0.0.2:2379"]. */
  hosts: string[];
  /** Every key lives under this prefix (default "/berth/"), so clusters can share one etcd. */
  namespace?: string;
  /** How long one call may take before it fails with StoreUnavailableError (ms, default 5000). */
  callTimeoutMs?: number;
  /** The longest pause between a broken watch stream's reconnection attempts (ms, default 2000). */
  watchRetryMaxMs?: number;
  /** How long a member that failed 3 calls in a row is left out before it is tried again (ms, default 1000). */
  memberRetryMs?: number;
}

type Backoff = NonNullable<NonNullable<IOptions['faultHandling']>['watchBackoff']>;

/** Doubling from 100 ms up to `max`. */
function watchBackoff(ms: number, max: number): Backoff {
  return { duration: ms, next: () => watchBackoff(Math.min(ms * 2, max), max) };
}

/**
 * The StateStore on etcd v3, for highly available masters. Values are JSON; `revision` is etcd's
 * mod_revision and the store revision is etcd's (cluster-wide) header revision. `apply` is one Txn
 * (etcd-txn.ts), `watch` an etcd watch (etcd-watch.ts), leases are etcd leases (TTL in whole seconds,
 * at least etcd's minimum). History is etcd's: compaction is the cluster's (--auto-compaction-*) or
 * `compact()`.
 */
export class EtcdStore implements StateStore {
  private closed = false;
  private readonly watches = new Set<EtcdWatch>();
  private readonly watchContext: EtcdWatchContext;

  private constructor(
    private readonly client: Etcd3,
    readonly namespace: string,
    readonly target: string,
  ) {
    this.watchContext = {
      client,
      namespace,
      classify: (err, revision) => this.classifyWatchError(err, revision),
      onEnd: (watch) => this.watches.delete(watch),
    };
  }

  /** Connects and checks that etcd answers; fails with StoreOpenError otherwise. */
  static async open(options: EtcdStoreOptions): Promise<EtcdStore> {
    const namespace = options.namespace ?? '/berth/';
    const target = `etcd://${options.hosts.map((h) => h.replace(/^https?:\/\//, '')).join(',')}${namespace}`;
    checkKey(namespace);
    const callTimeoutMs = options.callTimeoutMs ?? 5000;
    const client = new Etcd3({
      hosts: options.hosts,
      dialTimeout: callTimeoutMs,
      defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + callTimeoutMs }),
      faultHandling: {
        watchBackoff: watchBackoff(100, options.watchRetryMaxMs ?? 2000),
        host: hostBreakers(options.memberRetryMs ?? 1000),
      },
    });
    const store = new EtcdStore(client, namespace, target);
    try {
      await store.revision();
    } catch (err) {
      client.close();
      throw new StoreOpenError(target, (err as Error).message, { cause: err });
    }
    return store;
  }

  async get<T>(key: string): Promise<Readonly<StoreEntry<T>> | undefined> {
    this.checkOpen();
    checkKey(key);
    const res = await this.call(() => this.client.kv.range({ key: this.bytes(key) }));
    const kv = res.kvs[0];
    return kv && this.toEntry<T>(kv);
  }

  async list<T>(prefix: string, options?: ListOptions): Promise<ReadonlyArray<Readonly<StoreEntry<T>>>> {
    this.checkOpen();
    checkPrefix(prefix);
    const limit = checkLimit(options) ?? 0;
    const { start, end } = prefixRange(this.namespace + prefix);
    const res = await this.call(() => this.client.kv.range({ key: start, range_end: end, limit }));
    return Object.freeze(res.kvs.map((kv) => this.toEntry<T>(kv)));
  }

  async apply(ops: StoreOp[], options?: ApplyOptions): Promise<{ revision: number }> {
    this.checkOpen();
    const prepared = prepareOps(ops);
    const conditions = checkConditions(options?.if);
    const fence = checkFence(options?.fence);
    const net = computeNetEffect(prepared);
    const lease = [...net.puts.values()].find((p) => p.lease !== undefined)?.lease;
    for (const put of net.puts.values())
      if (put.lease !== undefined && !/^[0-9]{1,19}$/.test(put.lease))
        throw new StoreLeaseNotFoundError(put.lease);
    const txn = buildTxn(this.namespace, net, conditions, fence);
    const res = await this.call(() => this.client.kv.txn(txn.request), { lease, operations: txn.operations });
    if (!res.succeeded)
      throw new StoreConflictError(failedConditions(this.namespace, res, conditions, fence));
    return { revision: Number(res.header.revision) };
  }

  async revision(): Promise<number> {
    this.checkOpen();
    const res = await this.call(() => this.client.kv.range({ key: this.bytes(''), count_only: true }));
    return Number(res.header.revision);
  }

  async watch<T>(
    prefix: string,
    options: WatchOptions,
    onEvents: (events: ReadonlyArray<StoreEvent<T>>) => void,
  ): Promise<StoreWatch> {
    this.checkOpen();
    const requested = checkWatch(prefix, options, onEvents);
    const from = requested ?? (await this.revision()) + 1;
    if (requested !== undefined) await this.checkHistory(from);
    const deliver = onEvents as (events: ReadonlyArray<StoreEvent>) => void;
    const watch = await EtcdWatch.open(this.watchContext, prefix, from, deliver);
    if (this.closed) {
      await watch.close();
      throw new StoreClosedError();
    }
    this.watches.add(watch);
    return watch;
  }

  async compact(revision: number): Promise<void> {
    this.checkOpen();
    checkCompactRevision(revision, await this.revision());
    try {
      await this.call(() => this.client.kv.compact({ revision }));
    } catch (err) {
      if (!(err instanceof StoreCompactedError)) throw err; // already compacted further: nothing to do
    }
  }

  async grantLease(ttlMs: number): Promise<Lease> {
    this.checkOpen();
    const seconds = Math.max(1, Math.ceil(checkTtl(ttlMs) / 1000));
    const res = await this.call(() => this.client.leaseClient.leaseGrant({ TTL: seconds }));
    return makeLease(
      res.ID,
      Number(res.TTL) * 1000,
      (id) => this.keepAlive(id),
      (id) => this.revoke(id),
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const watch of [...this.watches]) await watch.close();
    this.client.close();
  }

  private async keepAlive(id: string): Promise<void> {
    this.checkOpen();
    const res = await this.call(async () => {
      const stream = await this.client.leaseClient.leaseKeepAlive();
      try {
        return await new Promise<{ TTL: string }>((resolve, reject) => {
          stream.on('data', resolve);
          stream.on('error', reject);
          stream.write({ ID: id });
        });
      } finally {
        stream.end();
      }
    });
    if (!(Number(res.TTL) > 0)) throw new StoreLeaseNotFoundError(id);
  }

  private async revoke(id: string): Promise<void> {
    this.checkOpen();
    try {
      await this.call(() => this.client.leaseClient.leaseRevoke({ ID: id }), { lease: id });
    } catch (err) {
      if (!(err instanceof StoreLeaseNotFoundError)) throw err;
    }
  }

  /** Rejects with StoreCompactedError when etcd no longer has revision `from` (a future one is fine). */
  private async checkHistory(from: number): Promise<void> {
    try {
      await this.call(() => this.client.kv.range({ key: this.bytes(''), count_only: true, revision: from }), {
        revision: from,
      });
    } catch (err) {
      if (!isFutureRevisionError(err)) throw err;
    }
  }

  private async classifyWatchError(err: unknown, revision: number): Promise<Error> {
    try {
      await this.checkHistory(revision);
    } catch (checked) {
      return checked as Error;
    }
    return toStoreError(err, this.target, { revision });
  }

  /** Runs one etcd call, translating its errors. */
  private async call<R>(
    fn: () => Promise<R>,
    context: { lease?: string; revision?: number; operations?: number } = {},
  ): Promise<R> {
    try {
      return await fn();
    } catch (err) {
      throw toStoreError(err, this.target, context);
    }
  }

  private bytes(key: string): Buffer {
    return Buffer.from(this.namespace + key);
  }

  private toEntry<T>(kv: IKeyValue): Readonly<StoreEntry<T>> {
    return Object.freeze({
      key: kv.key.toString().slice(this.namespace.length),
      value: decodeValue<T>(kv.value.toString()),
      revision: Number(kv.mod_revision),
    });
  }

  private checkOpen(): void {
    if (this.closed) throw new StoreClosedError();
  }
}
