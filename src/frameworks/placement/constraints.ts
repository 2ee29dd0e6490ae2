/**
 * Marathon-style placement constraints: parsing (both the array and the object form) and evaluation
 * against the instances already placed. The semantics are written down in `docs/placement.md`.
 */
import { InvalidArgumentError } from '../../core/errors.js';
import { CONSTRAINT_OPERATORS } from './types.js';
import type { Constraint, ConstraintOperator } from './types.js';

/** What a constraint reads a field from: a candidate or an existing instance. */
export interface FieldSource {
  hostname: string;
  attributes: Readonly<Record<string, string>>;
}

/** `hostname` is the agent's hostname; any other field is an agent attribute (undefined when missing). */
export function readField(field: string, source: FieldSource): string | undefined {
  if (field === 'hostname') return source.hostname;
  return Object.prototype.hasOwnProperty.call(source.attributes, field)
    ? source.attributes[field]
    : undefined;
}

/** A short text naming a constraint, e.g. `UNIQUE hostname`, `LIKE zone ~ a|b`, `MAX_PER rack 2`. */
export function constraintText(c: Constraint): string {
  const v = c.value;
  switch (c.operator) {
    case 'UNIQUE':
      return `UNIQUE ${c.field}`;
    case 'CLUSTER':
    case 'IS':
      return v === undefined ? `${c.operator} ${c.field}` : `${c.operator} ${c.field} = ${v}`;
    case 'LIKE':
    case 'UNLIKE':
      return `${c.operator} ${c.field} ~ ${v ?? ''}`;
    case 'GROUP_BY':
    case 'MAX_PER':
      return v === undefined ? `${c.operator} ${c.field}` : `${c.operator} ${c.field} ${v}`;
  }
}

// ---- parsing ---------------------------------------------------------------------------------------

const OPERATOR_LIST = CONSTRAINT_OPERATORS.join(', ');

function asValue(raw: unknown, path: string): string | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw === 'number' && Number.isFinite(raw)) return String(raw);
  if (typeof raw !== 'string') throw new InvalidArgumentError(`${path}: the value must be a string`);
  return raw;
}

function parseCount(value: string | undefined, op: ConstraintOperator, path: string): void {
  if (value === undefined) return;
  if (!/^\d+$/.test(value.trim()) || Number(value) < 1)
    throw new InvalidArgumentError(`${path}: ${op} needs a positive whole count, got "${value}"`);
}

/** Full-match regexes, compiled once per pattern. */
const regexCache = new Map<string, RegExp>();

/** The regex a LIKE/UNLIKE value stands for, matching the whole field value. Throws on a bad pattern. */
export function fullMatchRegex(pattern: string): RegExp {
  let re = regexCache.get(pattern);
  if (!re) {
    new RegExp(pattern); // a pattern that compiles alone has balanced groups, so the wrapper below is safe
    re = new RegExp(`^(?:${pattern})$`);
    if (regexCache.size > 1000) regexCache.clear();
    regexCache.set(pattern, re);
  }
  return re;
}

function splitInput(input: unknown, path: string): { field: unknown; operator: unknown; value: unknown } {
  if (Array.isArray(input)) {
    if (input.length < 2 || input.length > 3)
      throw new InvalidArgumentError(
        `${path}: expected [field, operator] or [field, operator, value], got ${input.length} items`,
      );
    return { field: input[0], operator: input[1], value: input[2] };
  }
  if (input !== null && typeof input === 'object') {
    const o = input as Record<string, unknown>;
    return { field: o.field, operator: o.operator, value: o.value };
  }
  throw new InvalidArgumentError(
    `${path}: expected ["field", "OPERATOR", "value"] or {field, operator, value}, e.g. ["hostname", "UNIQUE"]`,
  );
}

/**
 * Accepts Marathon's array form `["hostname","UNIQUE"]`, `["rack","GROUP_BY","3"]`, `["zone","LIKE","a|b"]`
 * and the object form `{field, operator, value}`. Operators are case-insensitive. Throws
 * InvalidArgumentError naming `path`, also for a bad regex or a missing/invalid count.
 */
export function parseConstraint(input: unknown, path: string): Constraint {
  const raw = splitInput(input, path);
  if (typeof raw.field !== 'string' || raw.field.trim() === '')
    throw new InvalidArgumentError(
      `${path}: the field must be a non-empty string, e.g. "hostname" or "rack"`,
    );
  const field = raw.field.trim();
  if (typeof raw.operator !== 'string')
    throw new InvalidArgumentError(`${path}: the operator must be a string (one of ${OPERATOR_LIST})`);
  const operator = raw.operator.trim().toUpperCase() as ConstraintOperator;
  if (!CONSTRAINT_OPERATORS.includes(operator))
    throw new InvalidArgumentError(`${path}: unknown operator "${raw.operator}" (one of ${OPERATOR_LIST})`);
  let value = asValue(raw.value, path);
  if (value === '' && (operator === 'UNIQUE' || operator === 'CLUSTER' || operator === 'GROUP_BY'))
    value = undefined;
  switch (operator) {
    case 'UNIQUE':
      if (value !== undefined) throw new InvalidArgumentError(`${path}: UNIQUE takes no value`);
      break;
    case 'GROUP_BY':
      parseCount(value, operator, path);
      break;
    case 'MAX_PER':
      if (value === undefined)
        throw new InvalidArgumentError(`${path}: MAX_PER needs a count, e.g. ["rack", "MAX_PER", "2"]`);
      parseCount(value, operator, path);
      break;
    case 'LIKE':
    case 'UNLIKE':
      if (value === undefined)
        throw new InvalidArgumentError(`${path}: ${operator} needs a regular expression, e.g. "a|b"`);
      try {
        fullMatchRegex(value);
      } catch (err) {
        throw new InvalidArgumentError(`${path}: bad regular expression "${value}" for ${operator}`, {
          cause: err,
        });
      }
      break;
    case 'IS':
      if (value === undefined)
        throw new InvalidArgumentError(`${path}: IS needs a value, e.g. ["zone", "IS", "a"]`);
      break;
    case 'CLUSTER':
      break;
  }
  if (value !== undefined && (operator === 'GROUP_BY' || operator === 'MAX_PER')) value = value.trim();
  return value === undefined ? { field, operator } : { field, operator, value };
}

/** Parses a list of constraints (absent = none); each error names `path[i]`. */
export function parseConstraints(input: unknown, path = 'constraints'): Constraint[] {
  if (input === undefined || input === null) return [];
  if (!Array.isArray(input)) throw new InvalidArgumentError(`${path}: expected a list of constraints`);
  return input.map((c, i) => parseConstraint(c, `${path}[${i}]`));
}

// ---- evaluation ------------------------------------------------------------------------------------

/** Instance counts per value of one field, with the smallest count kept up to date (for GROUP_BY). */
interface FieldCounts {
  counts: Map<string, number>;
  /** How many values have each count. */
  histogram: Map<number, number>;
  min: number;
  /** The value of the first instance seen (CLUSTER without a value). */
  first: string | undefined;
}

export type ConstraintCheck =
  | { ok: true }
  | {
      ok: false;
      /** Index of the failing constraint. */
      index: number;
      reason: string;
      /** False only for GROUP_BY, which may pass once other values catch up. */
      permanent: boolean;
      /** GROUP_BY: the field's value on the candidate. */
      value?: string;
    };

interface Compiled {
  c: Constraint;
  counts: FieldCounts;
  n: number;
  regex: RegExp | undefined;
  text: string;
}

/**
 * Mutable bookkeeping used inside one pure `placeInstances` call: counts of instances per field value,
 * seeded from the existing instances and updated as instances are placed.
 */
export class ConstraintTracker {
  private readonly fields = new Map<string, FieldCounts>();
  private readonly compiled: Compiled[];
  readonly hasGroupBy: boolean;

  constructor(constraints: readonly Constraint[], existing: readonly FieldSource[]) {
    this.compiled = constraints.map((c) => {
      let counts = this.fields.get(c.field);
      if (!counts) {
        counts = { counts: new Map(), histogram: new Map(), min: 0, first: undefined };
        this.fields.set(c.field, counts);
      }
      const regex =
        c.operator === 'LIKE' || c.operator === 'UNLIKE' ? fullMatchRegex(c.value ?? '') : undefined;
      return { c, counts, n: c.value === undefined ? 0 : Number(c.value), regex, text: constraintText(c) };
    });
    this.hasGroupBy = constraints.some((c) => c.operator === 'GROUP_BY');
    for (const e of existing) this.record(e);
  }

  /**
   * Counts one more instance on `source`. Returns true when a GROUP_BY verdict may have changed (a field
   * gained a value or its smallest count grew), i.e. when parked candidates are worth another look.
   */
  record(source: FieldSource): boolean {
    let changed = false;
    for (const [field, fc] of this.fields) {
      const v = readField(field, source);
      if (v === undefined) continue;
      const c = fc.counts.get(v) ?? 0;
      fc.counts.set(v, c + 1);
      fc.first ??= v;
      if (c > 0) fc.histogram.set(c, (fc.histogram.get(c) ?? 0) - 1);
      fc.histogram.set(c + 1, (fc.histogram.get(c + 1) ?? 0) + 1);
      if (c === 0) {
        fc.min = 1;
        changed = true;
      } else if (c === fc.min && fc.histogram.get(c) === 0) {
        fc.min = c + 1;
        changed = true;
      }
    }
    return changed && this.hasGroupBy;
  }

  /** The first constraint `source` fails for one more instance, or ok. */
  check(source: FieldSource): ConstraintCheck {
    for (let i = 0; i < this.compiled.length; i++) {
      const failure = this.checkOne(this.compiled[i]!, source);
      if (failure) return { ok: false, index: i, ...failure };
    }
    return { ok: true };
  }

  /** Every constraint's verdict for one more instance on `source`, in order (for explanations). */
  checkAll(source: FieldSource): Array<{ constraint: string; ok: boolean; reason?: string }> {
    return this.compiled.map((k) => {
      const failure = this.checkOne(k, source);
      return failure
        ? { constraint: k.text, ok: false, reason: failure.reason }
        : { constraint: k.text, ok: true };
    });
  }

  /** Whether a candidate parked on GROUP_BY constraint `index` with `value` may pass now. */
  groupByMayPass(index: number, value: string): boolean {
    const k = this.compiled[index];
    if (!k) return true;
    return this.groupByOk(k, value);
  }

  private groupByOk(k: Compiled, v: string): boolean {
    const c = k.counts.counts.get(v);
    return c === undefined || (k.counts.counts.size >= k.n && c === k.counts.min);
  }

  private checkOne(
    k: Compiled,
    source: FieldSource,
  ): { reason: string; permanent: boolean; value?: string } | undefined {
    const v = readField(k.c.field, source);
    if (v === undefined) {
      if (k.c.operator === 'UNLIKE') return undefined;
      return { reason: `fail ${k.text} (no attribute ${k.c.field})`, permanent: true };
    }
    const fail = (reason = `fail ${k.text}`) => ({ reason, permanent: true });
    switch (k.c.operator) {
      case 'UNIQUE':
        return k.counts.counts.has(v) ? fail() : undefined;
      case 'MAX_PER':
        return (k.counts.counts.get(v) ?? 0) >= k.n ? fail() : undefined;
      case 'LIKE':
        return k.regex!.test(v) ? undefined : fail();
      case 'UNLIKE':
        return k.regex!.test(v) ? fail() : undefined;
      case 'IS':
        return v === k.c.value ? undefined : fail();
      case 'CLUSTER': {
        const target = k.c.value ?? k.counts.first;
        if (target === undefined || v === target) return undefined;
        return fail(k.c.value === undefined ? `fail ${k.text} = ${target}` : undefined);
      }
      case 'GROUP_BY':
        return this.groupByOk(k, v) ? undefined : { reason: `fail ${k.text}`, permanent: false, value: v };
    }
  }
}
