import { InvalidArgumentError } from '../core/errors.js';
import { StoreConflictError } from './errors.js';
import type { FailedCondition } from './errors.js';
import { checkKey, checkPrefix } from './keys.js';
import type { ListOptions, StoreCondition, StoreFence, StoreOp, WatchOptions } from './state-store.js';
import { encodeValue } from './values.js';

/** An op after validation, with its value already serialized: applying it cannot fail half way. */
export type PreparedOp =
  | { op: 'put'; key: string; text: string; lease?: string }
  | { op: 'delete'; key: string }
  | { op: 'deletePrefix'; prefix: string };

export function prepareOps(ops: StoreOp[]): PreparedOp[] {
  if (!Array.isArray(ops)) throw new InvalidArgumentError('apply needs an array of ops');
  return ops.map(prepareOp);
}

function prepareOp(op: StoreOp): PreparedOp {
  switch (op?.op) {
    case 'put': {
      checkKey(op.key);
      const text = encodeValue(op.key, op.value);
      if (op.lease === undefined) return { op: 'put', key: op.key, text };
      if (typeof op.lease !== 'string' || op.lease === '')
        throw new InvalidArgumentError(`the lease of a put of "${op.key}" must be a lease id string`);
      return { op: 'put', key: op.key, text, lease: op.lease };
    }
    case 'delete':
      checkKey(op.key);
      return { op: 'delete', key: op.key };
    case 'deletePrefix':
      checkPrefix(op.prefix);
      return { op: 'deletePrefix', prefix: op.prefix };
    default:
      throw new InvalidArgumentError(`unknown store op ${JSON.stringify(op)}`);
  }
}

export function checkConditions(conditions: StoreCondition[] | undefined): StoreCondition[] {
  if (conditions === undefined) return [];
  if (!Array.isArray(conditions)) throw new InvalidArgumentError('apply conditions must be an array');
  for (const c of conditions) {
    checkKey(c?.key);
    if (!Number.isSafeInteger(c.revision) || c.revision < 0)
      throw new InvalidArgumentError(`condition revision for "${c.key}" must be an integer >= 0`);
  }
  return conditions;
}

export function checkFence(fence: StoreFence | undefined): StoreFence | undefined {
  if (fence === undefined) return undefined;
  checkKey(fence?.key);
  if (!isPositiveInteger(fence.createRevision))
    throw new InvalidArgumentError(`fence createRevision for "${fence.key}" must be a positive integer`);
  return fence;
}

/** What a store knows about a key when checking conditions: 0 for both when it is absent. */
export interface KeyRevisions {
  revision: number;
  createRevision: number;
}

/** Throws StoreConflictError naming every condition (and the fence) that does not hold. */
export function enforceConditions(
  conditions: StoreCondition[],
  fence: StoreFence | undefined,
  revisionsOf: (key: string) => KeyRevisions,
): void {
  const failed: FailedCondition[] = [];
  for (const { key, revision } of conditions) {
    const actual = revisionsOf(key).revision;
    if (actual !== revision) failed.push({ key, expected: revision, actual });
  }
  if (fence) {
    const actual = revisionsOf(fence.key).createRevision;
    if (actual !== fence.createRevision)
      failed.push({ key: fence.key, expected: fence.createRevision, actual, fence: true });
  }
  if (failed.length > 0) throw new StoreConflictError(failed);
}

/** The limit as a positive integer, or undefined for all. */
export function checkLimit(options: ListOptions | undefined): number | undefined {
  const limit = options?.limit;
  if (limit === undefined) return undefined;
  if (!isPositiveInteger(limit))
    throw new InvalidArgumentError(`list limit must be a positive integer, got ${String(limit)}`);
  return limit;
}

/** Validates watch arguments; returns the start revision (undefined = from now on). */
export function checkWatch(
  prefix: unknown,
  options: WatchOptions | undefined,
  onEvents: unknown,
): number | undefined {
  checkPrefix(prefix);
  if (typeof onEvents !== 'function') throw new InvalidArgumentError('watch needs an onEvents function');
  const from = options?.fromRevision;
  if (from !== undefined && !isPositiveInteger(from))
    throw new InvalidArgumentError(`watch fromRevision must be a positive integer, got ${String(from)}`);
  return from;
}

export function checkTtl(ttlMs: unknown): number {
  if (!isPositiveInteger(ttlMs))
    throw new InvalidArgumentError(`lease ttlMs must be a positive integer, got ${String(ttlMs)}`);
  return ttlMs;
}

export function checkCompactRevision(revision: unknown, current: number): number {
  if (!isPositiveInteger(revision) || revision > current)
    throw new InvalidArgumentError(
      `compact revision must be a positive integer up to the current revision ${current}, got ${String(revision)}`,
    );
  return revision;
}

function isPositiveInteger(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 1;
}
