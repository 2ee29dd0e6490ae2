import { ClientClosedError, EtcdLeaseInvalidError, isRecoverableError } from 'etcd3';
import { BerthError } from '../../core/errors.js';
import {
  StoreClosedError,
  StoreCompactedError,
  StoreLeaseNotFoundError,
  StoreTxnTooLargeError,
  StoreUnavailableError,
} from '../errors.js';

/**
 * etcd reports some conditions only as gRPC message text (etcd3 itself maps errors the same way); these
 * are etcd's own `rpctypes` strings, matched here once so that callers only see berth codes.
 */
const COMPACTED = 'required revision has been compacted';
const FUTURE = 'required revision is a future revision';
const TOO_MANY_OPS = 'too many operations in txn request';

export interface ErrorContext {
  /** Named in StoreLeaseNotFoundError. */
  lease?: string;
  /** Named in StoreCompactedError. */
  revision?: number;
  /** Named in StoreTxnTooLargeError. */
  operations?: number;
}

/** Translates an etcd3 error into the store's errors; unknown errors pass through unchanged. */
export function toStoreError(err: unknown, target: string, context: ErrorContext = {}): Error {
  if (err instanceof BerthError) return err;
  const message = (err as { message?: unknown } | undefined)?.message;
  const text = typeof message === 'string' ? message : '';
  if (err instanceof EtcdLeaseInvalidError)
    return new StoreLeaseNotFoundError(context.lease ?? '?', { cause: err });
  if (text.includes(COMPACTED)) return new StoreCompactedError(context.revision ?? 0);
  if (text.includes(TOO_MANY_OPS)) return new StoreTxnTooLargeError(context.operations ?? 0, { cause: err });
  if (err instanceof ClientClosedError) return new StoreClosedError();
  if (isUnavailable(err)) return new StoreUnavailableError(target, { cause: err });
  return err instanceof Error ? err : new Error(String(err));
}

export function isFutureRevisionError(err: unknown): boolean {
  const message = (err as { message?: unknown } | undefined)?.message;
  return typeof message === 'string' && message.includes(FUTURE);
}

/** Network and server failures (etcd3 marks them recoverable), and an open circuit breaker. */
function isUnavailable(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  return (
    isRecoverableError(err as Error) ||
    (err as { isBrokenCircuitError?: boolean }).isBrokenCircuitError === true
  );
}
