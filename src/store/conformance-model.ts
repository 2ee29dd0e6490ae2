/**
 * The property half of the conformance suite: random sequences of `apply` calls, checked after each
 * call against a trivial model (a Map, sorted by UTF-8 bytes when listed); a watch opened at the start
 * must have seen exactly the model's net changes.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { collect } from './conformance-support.js';
import type { StateStore, StoreCondition, StoreEntry, StoreEvent, StoreOp } from './state-store.js';

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
  readonly events: StoreEvent[] = [];
  constructor(public revision: number) {}

  revisionOf(key: string): number {
    return this.entries.get(key)?.revision ?? 0;
  }

  holds(conds: StoreCondition[]): boolean {
    return conds.every((c) => this.revisionOf(c.key) === c.revision);
  }

  /**
   * Runs the ops in order on a copy and records the net effect at `revision` (see state-store.ts): a put
   * event for every key whose final state comes from a put, a delete event for every key that existed
   * before and does not after. Returns whether anything changed.
   */
  apply(ops: StoreOp[], revision: number): boolean {
    const before = new Map(this.entries);
    const written = new Set<string>();
    for (const op of ops) {
      if (op.op === 'put') {
        this.entries.set(op.key, { key: op.key, value: JSON.parse(JSON.stringify(op.value)), revision });
        written.add(op.key);
      } else if (op.op === 'delete') {
        this.entries.delete(op.key);
        written.delete(op.key);
      } else
        for (const key of [...this.entries.keys(), ...written])
          if (key.startsWith(op.prefix)) {
            this.entries.delete(key);
            written.delete(key);
          }
    }
    const keys = [...new Set([...before.keys(), ...written])].sort(byBytes);
    const events: StoreEvent[] = [];
    for (const key of keys) {
      const now = this.entries.get(key);
      if (now && written.has(key)) events.push({ type: 'put', key, value: now.value, revision });
      else if (!now && before.has(key)) events.push({ type: 'delete', key, revision });
    }
    this.events.push(...events);
    return events.length > 0;
  }

  list(prefix: string): StoreEntry[] {
    const keys = [...this.entries.keys()].filter((k) => k.startsWith(prefix));
    return keys.sort(byBytes).map((k) => this.entries.get(k) as StoreEntry);
  }
}

const byBytes = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

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
  else assert.equal(revision, model.revision, 'an apply without net changes keeps the revision');
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
          const watched = await collect(store, '', { fromRevision: model.revision + 1 });
          for (const step of sequence) {
            await runStep(store, model, step);
            await checkAgainst(store, model);
            steps++;
          }
          if (model.events.length > 0) await watched.waitFor(model.revision);
          assert.deepEqual(watched.events, model.events, 'the watch saw exactly the net changes');
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
