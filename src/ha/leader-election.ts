/**
 * Leader election on the StateStore: the leader key is created only if absent (a revision-0 condition),
 * bound to a lease that the leader keeps alive. When the leader dies or is cut off, the lease expires,
 * etcd deletes the key, and the standbys (which watch it) race to create it again. The winner's fence is
 * the key's create revision: every write of its term carries it (fenced-store.ts), so a deposed leader
 * can never write, whatever it still believes.
 *
 * A leader steps down by itself as soon as it can no longer be sure its lease is alive
 * (`evaluateLeadership`), without waiting to hear from etcd.
 */
import { systemClock, type Clock, type Timer } from '../core/clock.js';
import { describeError } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/logger.js';
import {
  StoreConflictError,
  StoreLeaseNotFoundError,
  type Lease,
  type StateStore,
  type StoreFence,
  type StoreWatch,
} from '../store/index.js';
import {
  computeKeepAliveMs,
  computeLeaseDeadline,
  evaluateLeadership,
  parseLeaderInfo,
  type LeaderInfo,
} from './leadership.js';

export const LEADER_KEY = 'ha/leader';
export const DEFAULT_LEASE_TTL_MS = 3000;
export const DEFAULT_SAFETY_MARGIN_MS = 500;

export interface LeaderElectionOptions {
  store: StateStore;
  self: { id: string; url: string };
  key?: string;
  /** The leader lease's time to live (default 3000 ms; etcd rounds up to whole seconds). */
  ttlMs?: number;
  /** The leader stops acting this long before its lease could expire (default 500 ms). */
  safetyMarginMs?: number;
  clock?: Clock;
  logger?: Logger;
  /** This process became leader: `fence` goes on every write of the term. */
  onElected(fence: StoreFence, leader: LeaderInfo): void;
  /** This process is no longer leader (called once per term, synchronously, before anything else). */
  onDeposed(reason: string): void;
}

interface Term {
  lease: Lease;
  fence: StoreFence;
  renewedAt: number;
  keepAlive?: Timer;
  deadline?: Timer;
}

export class LeaderElection {
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly key: string;
  private readonly ttlMs: number;
  private readonly marginMs: number;
  private known: LeaderInfo | undefined;
  private term: Term | undefined;
  private watch: StoreWatch | undefined;
  private tickTimer: Timer | undefined;
  private ticking = false;
  /** The key changed while a tick was under way: tick again at once after it. */
  private tickAgain = false;
  /** A deposed leader lets the others campaign first, for one lease time. */
  private holdOffUntil = 0;
  private closed = false;
  private readonly waiters = new Set<() => void>();

  constructor(private readonly options: LeaderElectionOptions) {
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
    this.key = options.key ?? LEADER_KEY;
    this.ttlMs = options.ttlMs ?? DEFAULT_LEASE_TTL_MS;
    this.marginMs = options.safetyMarginMs ?? DEFAULT_SAFETY_MARGIN_MS;
    if (!(this.ttlMs > this.marginMs)) throw new Error('the lease TTL must be longer than the safety margin');
  }

  /** Watches the leader key and campaigns whenever it is free. */
  async start(): Promise<void> {
    await this.openWatch();
    this.tick();
  }

  /** The leader as last seen (this process, when it leads). */
  get leader(): LeaderInfo | undefined {
    return this.known;
  }

  get self(): { id: string; url: string } {
    return this.options.self;
  }

  /**
   * True while this process holds a lease that is certainly alive. Checked on every request, so a leader
   * that was frozen (SIGSTOP, a long pause) steps down before it handles anything.
   */
  isLeader(): boolean {
    const term = this.term;
    if (!term) return false;
    const state = evaluateLeadership({
      now: this.clock.now(),
      renewedAt: term.renewedAt,
      ttlMs: term.lease.ttlMs,
      safetyMarginMs: this.marginMs,
    });
    if (state === 'leading') return true;
    this.depose('the leader lease could not be renewed in time');
    return false;
  }

  /** Resolves with the leader once one is known, or undefined after `timeoutMs`. */
  waitForLeader(timeoutMs: number): Promise<LeaderInfo | undefined> {
    if (this.known) return Promise.resolve(this.known);
    return new Promise((resolve) => {
      const done = (): void => {
        this.waiters.delete(done);
        this.clock.clearTimeout(timer);
        resolve(this.known);
      };
      const timer = this.clock.setTimeout(done, timeoutMs);
      this.waiters.add(done);
    });
  }

  /** Steps down now (its fenced writes fail from here on) and lets a standby take over at once. */
  async resign(): Promise<void> {
    const lease = this.term?.lease;
    this.depose('resigned');
    await lease?.revoke().catch(() => undefined);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.resign();
    if (this.tickTimer) this.clock.clearTimeout(this.tickTimer);
    await this.watch?.close();
    for (const wake of [...this.waiters]) wake();
  }

  // ---- standby: learn the leader, campaign when there is none --------------------------------------

  private tick(): void {
    if (this.closed || this.term) return;
    if (this.ticking) {
      this.tickAgain = true;
      return;
    }
    this.ticking = true;
    this.tickAgain = false;
    if (this.tickTimer) this.clock.clearTimeout(this.tickTimer);
    this.tickTimer = undefined;
    this.lookOrCampaign()
      .catch((err: unknown) => this.logger.warn({ err: describeError(err) }, 'leader election step failed'))
      .finally(() => {
        this.ticking = false;
        if (this.closed || this.term) return;
        if (this.tickAgain) return this.tick();
        if (!this.tickTimer) this.tickTimer = this.clock.setTimeout(() => this.tick(), this.keepAliveMs);
      });
  }

  private get keepAliveMs(): number {
    return computeKeepAliveMs(this.ttlMs, this.marginMs);
  }

  private async lookOrCampaign(): Promise<void> {
    const entry = await this.options.store.get(this.key);
    if (entry) return this.learn(parseLeaderInfo(entry.value));
    if (this.clock.now() < this.holdOffUntil) return;
    const startedAt = this.clock.now();
    const lease = await this.options.store.grantLease(this.ttlMs);
    const info: LeaderInfo = { ...this.options.self, since: this.clock.now() };
    let createRevision: number;
    try {
      ({ revision: createRevision } = await this.options.store.apply(
        [{ op: 'put', key: this.key, value: info, lease: lease.id }],
        { if: [{ key: this.key, revision: 0 }] },
      ));
    } catch (err) {
      await lease.revoke().catch(() => undefined);
      if (err instanceof StoreConflictError) return; // someone else won; the next tick reads who
      throw err;
    }
    if (this.closed) {
      await lease.revoke().catch(() => undefined);
      return;
    }
    this.term = { lease, fence: { key: this.key, createRevision }, renewedAt: startedAt };
    this.armKeepAlive();
    this.learn(info);
    this.logger.info({ id: info.id, url: info.url, revision: createRevision }, 'elected leader');
    this.options.onElected(this.term.fence, info);
  }

  private learn(info: LeaderInfo | undefined): void {
    const changed = info?.id !== this.known?.id || info?.since !== this.known?.since;
    this.known = info;
    if (changed && info) this.logger.info({ leader: info.id, url: info.url }, 'leader known');
    if (info) for (const wake of [...this.waiters]) wake();
  }

  // ---- leader: keep the lease alive, step down when unsure ------------------------------------------

  private armKeepAlive(): void {
    const term = this.term;
    if (!term) return;
    if (term.deadline) this.clock.clearTimeout(term.deadline);
    const deadline = computeLeaseDeadline({
      renewedAt: term.renewedAt,
      ttlMs: term.lease.ttlMs,
      safetyMarginMs: this.marginMs,
    });
    term.deadline = this.clock.setTimeout(() => this.isLeader(), Math.max(0, deadline - this.clock.now()));
    term.keepAlive = this.clock.setTimeout(() => void this.renew(term), this.keepAliveMs);
  }

  private async renew(term: Term): Promise<void> {
    if (this.term !== term) return;
    const sentAt = this.clock.now();
    try {
      await term.lease.keepAlive();
      if (this.term !== term) return;
      term.renewedAt = sentAt;
    } catch (err) {
      if (this.term !== term) return;
      if (err instanceof StoreLeaseNotFoundError) return this.depose('the leader lease expired');
      this.logger.warn({ err: describeError(err) }, 'renewing the leader lease failed; retrying');
    }
    if (this.isLeader()) this.armKeepAlive();
  }

  private depose(reason: string): void {
    const term = this.term;
    if (!term) return;
    this.term = undefined;
    if (term.keepAlive) this.clock.clearTimeout(term.keepAlive);
    if (term.deadline) this.clock.clearTimeout(term.deadline);
    if (this.known?.id === this.options.self.id) this.known = undefined;
    this.logger.warn({ reason }, 'no longer leader');
    this.options.onDeposed(reason);
    // A lease that is still alive is handed back, so that a standby need not wait for it to expire. When
    // etcd is down, it is handed back once etcd returns (a restarted etcd renews every lease).
    this.revokeUntilDone(term.lease, this.clock.now() + 60_000);
    // The others get one lease time to take over before this process campaigns again.
    this.holdOffUntil = this.clock.now() + this.ttlMs;
    if (this.tickTimer) this.clock.clearTimeout(this.tickTimer);
    if (!this.closed) this.tickTimer = this.clock.setTimeout(() => this.tick(), this.keepAliveMs);
  }

  private revokeUntilDone(lease: Lease, deadline: number): void {
    lease.revoke().catch(() => {
      if (!this.closed && this.clock.now() < deadline)
        this.clock.setTimeout(() => this.revokeUntilDone(lease, deadline), 250);
    });
  }

  // ---- the watch: a standby hears at once that the key is free ---------------------------------------

  private async openWatch(): Promise<void> {
    if (this.closed) return;
    const from = (await this.options.store.revision()) + 1;
    const watch = await this.options.store.watch(this.key, { fromRevision: from }, (events) => {
      for (const event of events) {
        if (event.key !== this.key) continue;
        if (event.type === 'delete') {
          this.known = undefined;
          if (this.term) this.depose('the leader key was deleted');
          else this.tick();
        } else {
          if (this.term && event.revision !== this.term.fence.createRevision)
            this.depose('another master holds the leader key');
          this.learn(parseLeaderInfo(event.value));
        }
      }
    });
    this.watch = watch;
    void watch.ended.then((err) => {
      if (this.closed || !err) return;
      this.logger.warn({ err: describeError(err) }, 'leader key watch ended; watching again');
      this.clock.setTimeout(() => {
        this.openWatch().catch((e: unknown) => {
          this.logger.warn({ err: describeError(e) }, 'watching the leader key failed');
          this.tick();
        });
      }, 1000);
    });
  }
}
