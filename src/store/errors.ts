import { BerthError } from '../core/errors.js';

/**
 * One failed condition of an `apply`: the key was at `actual` (0 = absent), the caller expected
 * `expected`. For the fence (`fence: true`) the numbers are create revisions.
 */
export interface FailedCondition {
  readonly key: string;
  readonly expected: number;
  readonly actual: number;
  readonly fence?: true;
}

/** A condition of `apply` did not hold; nothing was written. Re-read and try again. */
export class StoreConflictError extends BerthError {
  readonly code = 'ERR_STORE_CONFLICT';
  override readonly retryable = true;

  constructor(readonly failed: ReadonlyArray<FailedCondition>) {
    const first = failed[0];
    const what = first?.fence ? 'was created at revision' : 'is at revision';
    const detail = first
      ? `key "${first.key}" ${what} ${first.actual}, expected ${first.expected}`
      : 'a condition failed';
    super(`store write conflict: ${detail}; re-read and retry`);
  }
}

export class InvalidKeyError extends BerthError {
  readonly code = 'ERR_INVALID_KEY';

  constructor(
    readonly key: unknown,
    reason: string,
  ) {
    super(`invalid store key ${JSON.stringify(key) ?? String(key)}: ${reason}`);
  }
}

export class InvalidStoreValueError extends BerthError {
  readonly code = 'ERR_INVALID_STORE_VALUE';

  constructor(
    readonly key: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`invalid value for store key "${key}": ${reason}`, options);
  }
}

export class InvalidStoreUrlError extends BerthError {
  readonly code = 'ERR_INVALID_STORE_URL';

  constructor(
    readonly url: string,
    reason: string,
  ) {
    super(`invalid store URL "${url}": ${reason}`);
  }
}

/** The store could not be opened or created at `path`. The message is one line that names the path. */
export class StoreOpenError extends BerthError {
  readonly code = 'ERR_STORE_OPEN';

  constructor(
    readonly path: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`cannot open the state store at ${path}: ${reason}`, options);
  }
}

export class StoreClosedError extends BerthError {
  readonly code = 'ERR_STORE_CLOSED';

  constructor() {
    super('the state store is closed');
  }
}

/** Another process held the database lock for longer than the busy timeout. */
export class StoreBusyError extends BerthError {
  readonly code = 'ERR_STORE_BUSY';
  override readonly retryable = true;

  constructor(path: string, options?: { cause?: unknown }) {
    super(`the state store at ${path} is locked by another process; try again`, options);
  }
}

/** A watch asked for history the store no longer keeps. List again, then watch from that revision + 1. */
export class StoreCompactedError extends BerthError {
  readonly code = 'ERR_STORE_COMPACTED';
  override readonly retryable = true;

  constructor(
    readonly requested: number,
    readonly compacted?: number,
  ) {
    const kept = compacted === undefined ? '' : ` (history starts at revision ${compacted})`;
    super(`store history before revision ${requested} is compacted${kept}; list again and watch from there`);
  }
}

/** The lease expired, was revoked, or never existed. Grant a new one (and re-put its keys). */
export class StoreLeaseNotFoundError extends BerthError {
  readonly code = 'ERR_STORE_LEASE_NOT_FOUND';

  constructor(
    readonly lease: string,
    options?: { cause?: unknown },
  ) {
    super(`store lease ${lease} has expired or was revoked; grant a new lease`, options);
  }
}

/** The store's servers could not be reached (etcd down or no quorum). The call may have taken effect. */
export class StoreUnavailableError extends BerthError {
  readonly code = 'ERR_STORE_UNAVAILABLE';
  override readonly retryable = true;

  constructor(
    readonly target: string,
    options?: { cause?: unknown },
  ) {
    const reason = (options?.cause as { message?: string } | undefined)?.message;
    super(`the state store at ${target} is unavailable${reason ? ` (${reason})` : ''}; try again`, options);
  }
}

/** The apply has more operations than the store accepts in one transaction (etcd: --max-txn-ops). */
export class StoreTxnTooLargeError extends BerthError {
  readonly code = 'ERR_STORE_TXN_TOO_LARGE';

  constructor(
    readonly operations: number,
    options?: { cause?: unknown },
  ) {
    super(
      `a store apply of ${operations} etcd operations is larger than etcd accepts (--max-txn-ops); split it`,
      options,
    );
  }
}
