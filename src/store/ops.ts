import { InvalidArgumentError } from '../core/errors.js';
import { StoreConflictError } from './errors.js';
import type { FailedCondition } from './errors.js';
import { checkKey, checkPrefix } from './keys.js';
import type { ListOptions, StoreCondition, StoreOp } from './state-store.js';
import { encodeValue } from './values.js';

/** An op after validation, with its value already serialized: applying it cannot fail half way. */
export type PreparedOp =
  | { op: 'put'; key: string; text: string }
  | { op: 'delete'; key: string }
  | { op: 'deletePrefix'; prefix: string };

export function prepareOps(ops: StoreOp[]): PreparedOp[] {
  if (!Array.isArray(ops)) throw new InvalidArgumentError('apply needs an array of ops');
  return ops.map(prepareOp);
}

function prepareOp(op: StoreOp): PreparedOp {
  switch (op?.op) {
    case 'put':
      checkKey(op.key);
      return { op: 'put', key: op.key, text: encodeValue(op.key, op.value) };
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

/** Throws StoreConflictError naming every condition that does not hold. */
export function enforceConditions(conditions: StoreCondition[], revisionOf: (key: string) => number): void {
  const failed: FailedCondition[] = [];
  for (const { key, revision } of conditions) {
    const actual = revisionOf(key);
    if (actual !== revision) failed.push({ key, expected: revision, actual });
  }
  if (failed.length > 0) throw new StoreConflictError(failed);
}

/** The limit as a positive integer, or undefined for all. */
export function checkLimit(options: ListOptions | undefined): number | undefined {
  const limit = options?.limit;
  if (limit === undefined) return undefined;
  if (!Number.isSafeInteger(limit) || limit < 1)
    throw new InvalidArgumentError(`list limit must be a positive integer, got ${String(limit)}`);
  return limit;
}
