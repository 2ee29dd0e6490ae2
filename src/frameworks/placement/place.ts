/**
 * `placeInstances`: puts up to `count` instances on candidates, honouring resources, host ports, the
 * requirement's role and its constraints, spreading deterministically; and says why the rest could not
 * be placed. Pure: the inputs are never mutated.
 *
 * Order: the candidate whose agent has the fewest instances (existing + placed so far) goes first, ties
 * broken by candidate id, then input position. A candidate that fails a constraint other than GROUP_BY, or
 * lacks resources, can never take an instance later in the same call (counts only grow, resources only
 * shrink), so it is dropped; one that fails GROUP_BY is parked until the counts it waits for change. That
 * keeps the whole call near O((count + candidates) · log candidates).
 */
import type { Offer } from '../../api/mesos.js';
import { InvalidArgumentError } from '../../core/errors.js';
import { subtractResources, unallocate } from '../../core/resources.js';
import type { Resource } from '../../core/resources.js';
import { capacityOf, lackOf, needOf, takeFrom as takeFromCapacity } from './capacity.js';
import type { Capacity, Need } from './capacity.js';
import { ConstraintTracker } from './constraints.js';
import { explainUnplaced } from './explain.js';
import type { Shortfall } from './explain.js';
import type {
  Candidate,
  ExistingInstance,
  InstanceRequirement,
  Placement,
  PlacementResult,
} from './types.js';

/** Mesos attributes (TEXT/SCALAR) as strings by name. */
export function attributeRecord(list: Offer['attributes']): Record<string, string> {
  const attributes: Record<string, string> = {};
  for (const a of list ?? []) {
    if (a.type === 'TEXT' && a.text) attributes[a.name] = a.text.value;
    else if (a.type === 'SCALAR' && a.scalar) attributes[a.name] = String(a.scalar.value);
  }
  return attributes;
}

/** Converts a master Offer (attributes TEXT/SCALAR) to a Candidate. */
export function offerCandidate(offer: Offer): Candidate {
  return {
    id: offer.id.value,
    agentId: offer.agent_id.value,
    hostname: offer.hostname,
    attributes: attributeRecord(offer.attributes),
    resources: offer.resources as Resource[],
  };
}

/** An agent as the operator API or a framework's own books know it. */
export interface AgentResources {
  id: string;
  hostname: string;
  /** Mesos's list form or already a record. */
  attributes?: Offer['attributes'] | Record<string, string>;
  /** The agent's total resources. */
  resources: readonly Resource[];
  /** What is allocated on it (tasks and outstanding offers); allocation_info is ignored. */
  used?: readonly Resource[];
}

/** For dry runs (`berth plan`, `/v2/queue`): an agent's free resources as a Candidate whose id is the agent id. */
export function agentCandidate(agent: AgentResources): Candidate {
  const attrs = agent.attributes;
  return {
    id: agent.id,
    agentId: agent.id,
    hostname: agent.hostname,
    attributes: Array.isArray(attrs) ? attributeRecord(attrs) : { ...(attrs ?? {}) },
    resources: subtractResources(unallocate(agent.resources), unallocate(agent.used ?? [])),
  };
}

function validate(req: InstanceRequirement, count: number): void {
  if (!Number.isInteger(count) || count < 0)
    throw new InvalidArgumentError(`count: expected a whole number >= 0, got ${count}`);
  for (const [name, v] of [
    ['cpus', req.cpus],
    ['mem', req.mem],
    ['disk', req.disk ?? 0],
    ['gpus', req.gpus ?? 0],
  ] as const)
    if (!Number.isFinite(v) || v < 0)
      throw new InvalidArgumentError(`${name}: expected a number >= 0, got ${v}`);
}

interface HeapEntry {
  idx: number;
  /** The agent's instance count when the entry was pushed; stale entries are re-pushed. */
  load: number;
}

/** A binary min-heap of candidates by (agent load, candidate id, input position). */
class CandidateHeap {
  private readonly items: HeapEntry[] = [];
  /** Each candidate's position when ordered by (id, input position): one integer compare instead of two. */
  private readonly rank: Int32Array;

  constructor(candidates: readonly Candidate[]) {
    const order = candidates.map((_, i) => i);
    order.sort((a, b) => {
      const ia = candidates[a]!.id;
      const ib = candidates[b]!.id;
      return ia < ib ? -1 : ia > ib ? 1 : a - b;
    });
    this.rank = new Int32Array(candidates.length);
    order.forEach((idx, pos) => (this.rank[idx] = pos));
  }

  get size(): number {
    return this.items.length;
  }

  private less(a: HeapEntry, b: HeapEntry): boolean {
    return a.load !== b.load ? a.load < b.load : this.rank[a.idx]! < this.rank[b.idx]!;
  }

  push(e: HeapEntry): void {
    const items = this.items;
    items.push(e);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(items[i]!, items[parent]!)) break;
      [items[i], items[parent]] = [items[parent]!, items[i]!];
      i = parent;
    }
  }

  pop(): HeapEntry | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length === 0 || !last) return top;
    items[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < items.length && this.less(items[l]!, items[m]!)) m = l;
      if (r < items.length && this.less(items[r]!, items[m]!)) m = r;
      if (m === i) break;
      [items[i], items[m]] = [items[m]!, items[i]!];
      i = m;
    }
    return top;
  }
}

/** The mutable state of one call. */
interface Run {
  candidates: readonly Candidate[];
  caps: Capacity[];
  need: Need;
  tracker: ConstraintTracker;
  load: Map<string, number>;
  heap: CandidateHeap;
  /** Candidates waiting on a GROUP_BY constraint, by `index \0 value`. */
  parked: Map<string, { index: number; value: string; idxs: number[] }>;
}

const loadOf = (run: Run, idx: number): number => run.load.get(run.candidates[idx]!.agentId) ?? 0;

/** Pops candidates until one can take the next instance; drops or parks those that cannot. */
function nextCandidate(run: Run): number | undefined {
  for (;;) {
    const e = run.heap.pop();
    if (!e) return undefined;
    const load = loadOf(run, e.idx);
    if (load !== e.load) {
      run.heap.push({ idx: e.idx, load });
      continue;
    }
    if (lackOf(run.caps[e.idx]!, run.need)) continue;
    const check = run.tracker.check(run.candidates[e.idx]!);
    if (check.ok) return e.idx;
    if (check.permanent || check.value === undefined) continue;
    const key = `${check.index}\u0000${check.value}`;
    const slot = run.parked.get(key);
    if (slot) slot.idxs.push(e.idx);
    else run.parked.set(key, { index: check.index, value: check.value, idxs: [e.idx] });
  }
}

/** Puts parked candidates whose GROUP_BY value may pass now back into the heap. */
function releaseParked(run: Run): void {
  for (const [key, slot] of run.parked) {
    if (!run.tracker.groupByMayPass(slot.index, slot.value)) continue;
    run.parked.delete(key);
    for (const idx of slot.idxs) run.heap.push({ idx, load: loadOf(run, idx) });
  }
}

/** Each candidate's first failing check for one more instance, constraints before resources. */
function* shortfalls(run: Run): Generator<Shortfall> {
  for (let i = 0; i < run.candidates.length; i++) {
    const check = run.tracker.check(run.candidates[i]!);
    if (!check.ok) {
      yield { constraint: check.reason };
      continue;
    }
    const lack = lackOf(run.caps[i]!, run.need);
    if (lack) yield { lack };
  }
}

/**
 * Places up to `count` instances of `req` on `candidates`, given the instances of the same service/job
 * that already exist. Instances placed earlier in the call count as existing for later ones; several may
 * share a candidate while its resources and the constraints allow.
 */
export function placeInstances(
  req: InstanceRequirement,
  count: number,
  candidates: readonly Candidate[],
  existing: readonly ExistingInstance[],
): PlacementResult {
  validate(req, count);
  const run: Run = {
    candidates,
    caps: candidates.map((c) => capacityOf(c, req.role)),
    need: needOf(req),
    tracker: new ConstraintTracker(req.constraints, existing),
    load: new Map(),
    heap: new CandidateHeap(candidates),
    parked: new Map(),
  };
  for (const e of existing) run.load.set(e.agentId, (run.load.get(e.agentId) ?? 0) + 1);
  if (count > 0)
    for (let idx = 0; idx < candidates.length; idx++) run.heap.push({ idx, load: loadOf(run, idx) });
  const portNames = req.ports.map((p) => p.name);
  const placements: Placement[] = [];
  while (placements.length < count) {
    const idx = nextCandidate(run);
    if (idx === undefined) break;
    const cand = candidates[idx]!;
    const { resources, ports } = takeFromCapacity(run.caps[idx]!, run.need);
    placements.push({
      candidateId: cand.id,
      agentId: cand.agentId,
      hostname: cand.hostname,
      resources,
      ports,
      portNames: [...portNames],
    });
    const groupsChanged = run.tracker.record(cand);
    const load = loadOf(run, idx) + 1;
    run.load.set(cand.agentId, load);
    run.heap.push({ idx, load });
    if (groupsChanged && run.parked.size > 0) releaseParked(run);
  }
  const unplaced = count - placements.length;
  return { placements, unplaced, ...explainUnplaced(count, unplaced, candidates.length, shortfalls(run)) };
}
