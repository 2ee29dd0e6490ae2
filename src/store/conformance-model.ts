/**
 * The property half of the conformance suite: random sequences of `apply` calls, checked after each
 * call against a trivial model (a Map, sorted by UTF-8 bytes when listed).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { StateStore, StoreCondition, StoreEntry, StoreOp } from './state-store.js';

type OpenStore = () => Promise<StateStore>;

const KEYS = ['a', 'a/', 'a/b', 'a/b/c', 'a/c', 'ab', 'a0', 'b', 'b/\uE000', 'b/\u{1F600}', 'z\u{10FFFF}'];
const PREFIXES = ['', 'a', 'a/', 'a/b', 'b/', 'b/\uE000', 'z', 'q'];

/** A condition either on the key's current revision (holds) or on a fixed number (usually fails). */
interface CondSpec {
  key: string;
  revision: 'current' | number;
}
interface Step {
  ops: StoreOp[];
  conds: CondSpec[];
}

const opArb: fc.Arbitrary<StoreOp> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constant('put' as const),
      key: fc.constantFrom(...KEYS),
      value: fc.jsonValue({ maxDepth: 2 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('delete' as const), key: fc.constantFrom(...KEYS) }) },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant('deletePrefix' as const), prefix: fc.constantFrom(...PREFIXES) }),
  },
);
const condArb: fc.Arbitrary<CondSpec> = fc.record({
  key: fc.constantFrom(...KEYS),
  revision: fc.oneof({ weight: 4, arbitrary: fc.constant('current' as const) }, fc.nat({ max: 3 })),
});
const stepsArb = fc.array(
  fc.record({ ops: fc.array(opArb, { maxLength: 6 }), conds: fc.array(condArb, { maxLength: 2 }) }),
  {
    minLength: 1,
    maxLength: 25,
  },
);

class Model {
  readonly entries = new Map<string, StoreEntry>();
  constructor(public revision: number) {}

  revisionOf(key: string): number {
    return this.entries.get(key)?.revision ?? 0;
  }

  holds(conds: StoreCondition[]): boolean {
    return conds.every((c) => this.revisionOf(c.key) === c.revision);
  }

  /** Applies the ops at `revision`; returns whether anything was written. */
  apply(ops: StoreOp[], revision: number): boolean {
    let changed = false;
    for (const op of ops) {
      if (op.op === 'put') {
        this.entries.set(op.key, { key: op.key, value: JSON.parse(JSON.stringify(op.value)), revision });
        changed = true;
      } else if (op.op === 'delete') changed = this.entries.delete(op.key) || changed;
      else
        for (const key of [...this.entries.keys()])
          if (key.startsWith(op.prefix)) changed = this.entries.delete(key) || changed;
    }
    return changed;
  }

  list(prefix: string): StoreEntry[] {
    const keys = [...this.entries.keys()].filter((k) => k.startsWith(prefix));
    keys.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    return keys.map((k) => this.entries.get(k) as StoreEntry);
  }
}

async function runStep(store: StateStore, model: Model, step: Step): Promise<void> {
  const conds = step.conds.map((c) => ({
    key: c.key,
    revision: c.revision === 'current' ? model.revisionOf(c.key) : c.revision,
  }));
  if (!model.holds(conds)) {
    await assert.rejects(
      store.apply(step.ops, { if: conds }),
      (err: { code?: string }) => err.code === 'ERR_STORE_CONFLICT',
    );
    return;
  }
  const { revision } = await store.apply(step.ops, { if: conds });
  const changed = model.apply(step.ops, revision);
  if (changed) assert.ok(revision > model.revision, `revision ${revision} should pass ${model.revision}`);
  else assert.equal(revision, model.revision, 'an apply without writes keeps the revision');
  model.revision = revision;
}

async function checkAgainst(store: StateStore, model: Model): Promise<void> {
  assert.deepEqual(await store.list(''), model.list(''));
  assert.equal(await store.revision(), model.revision);
}

export function registerModelProperty(open: OpenStore): void {
  test('random apply sequences match a Map model (fast-check)', async () => {
    let steps = 0;
    await fc.assert(
      fc.asyncProperty(stepsArb, async (sequence) => {
        const store = await open();
        try {
          const model = new Model(await store.revision());
          for (const step of sequence) {
            await runStep(store, model, step);
            await checkAgainst(store, model);
            steps++;
          }
          for (const prefix of PREFIXES) assert.deepEqual(await store.list(prefix), model.list(prefix));
          for (const key of KEYS) assert.deepEqual(await store.get(key), model.entries.get(key));
          assert.deepEqual(await store.list('', { limit: 3 }), model.list('').slice(0, 3));
        } finally {
          await store.close();
        }
      }),
      { numRuns: 60 },
    );
    assert.ok(steps >= 60, `expected at least 60 steps, ran ${steps}`);
  });
}
