/**
 * Pure decisions of the leader election (leader-election.ts does the I/O): whether this process may still
 * act as leader, and where a standby sends a request.
 */

/** What the leader key holds: who leads, and the URL clients are redirected to. */
export interface LeaderInfo {
  id: string;
  url: string;
  /** When this leader was elected (ms since the epoch, its own clock). */
  since: number;
}

export interface LeadershipInput {
  now: number;
  /** When the last successful keep-alive was SENT: etcd counts the TTL from a later moment. */
  renewedAt: number;
  ttlMs: number;
  /** Stop acting this long before the lease could expire at etcd (clock drift, slow event loop). */
  safetyMarginMs: number;
}

/**
 * A leader may act while its lease is certainly alive: the TTL counted from the moment the last
 * successful keep-alive was sent, less a safety margin. etcd counts the same TTL from when it received
 * that keep-alive, which is later, so a leader that believes itself leader always still holds the lease.
 */
export function computeLeaseDeadline(input: Omit<LeadershipInput, 'now'>): number {
  return input.renewedAt + input.ttlMs - input.safetyMarginMs;
}

export function evaluateLeadership(input: LeadershipInput): 'leading' | 'expired' {
  return input.now < computeLeaseDeadline(input) ? 'leading' : 'expired';
}

/** The keep-alive period: three tries within the usable part of the lease. */
export function computeKeepAliveMs(ttlMs: number, safetyMarginMs: number): number {
  return Math.max(100, Math.floor((ttlMs - safetyMarginMs) / 3));
}

/** The leader's URL for the same path and query (a 307 keeps the method and the body). */
export function computeRedirect(leaderUrl: string, requestUrl: string): string {
  return `${leaderUrl.replace(/\/+$/, '')}${requestUrl.startsWith('/') ? requestUrl : `/${requestUrl}`}`;
}

/** Paths every master answers itself, leader or not. */
export function isServedLocally(path: string): boolean {
  const bare = path.split('?')[0] ?? '';
  return bare === '/api/v1/leader' || bare === '/api/v1/health';
}

export function parseLeaderInfo(value: unknown): LeaderInfo | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { id, url, since } = value as Record<string, unknown>;
  if (typeof id !== 'string' || typeof url !== 'string') return undefined;
  return { id, url, since: typeof since === 'number' ? since : 0 };
}
