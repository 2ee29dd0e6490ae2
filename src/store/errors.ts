import { BerthError } from '../core/errors.js';

/** One failed condition of an `apply`: the key was at `actual` (0 = absent), the caller expected `expected`. */
export interface FailedCondition {
  readonly key: string;
  readonly expected: number;
  readonly actual: number;
}

/** A condition of `apply` did not hold; nothing was written. Re-read and try again. */
export class StoreConflictError extends BerthError {
  readonly code = 'ERR_STORE_CONFLICT';
  override readonly retryable = true;

  constructor(readonly failed: ReadonlyArray<FailedCondition>) {
    const first = failed[0];
    const detail = first
      ? `key "${first.key}" is at revision ${first.actual}, expected ${first.expected}`
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
