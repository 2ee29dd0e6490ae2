/**
 * Weighted Dominant Resource Fairness. A client's share is the largest fraction it holds of any scalar
 * in the cluster, divided by its weight; the smallest share goes first, ties broken by id.
 *
 * `sortByDrf` is the plain pure function. `SortedClients` keeps clients in that order incrementally:
 * when one client's allocation changes only that client moves (binary search + splice), which is what
 * lets an allocation cycle over thousands of agents stay fast. `RoleSorter` stacks them into Mesos's
 * hierarchical sorter over role paths (`eng/ci/nightly`).
 */
import type { Resource } from '../../../core/resources.js';
import { dominantShare, quantitiesOf } from '../quantities.js';
import { addVec, shareOf, type ReadonlyVec, type Vec } from '../vector.js';

export interface SortClient {
  id: string;
  allocated: readonly Resource[];
  weight: number;
}

export function computeShare(
  allocated: readonly Resource[],
  totals: readonly Resource[],
  weight = 1,
): number {
  return dominantShare(quantitiesOf(allocated), quantitiesOf(totals), weight);
}

const byShareThenId = (a: { share: number; id: string }, b: { share: number; id: string }): number =>
  a.share - b.share || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** Client ids in DRF order: smallest weighted dominant share first, ties broken by id. */
export function sortByDrf(clients: readonly SortClient[], totals: readonly Resource[]): string[] {
  const total = quantitiesOf(totals);
  return clients
    .map((c) => ({ id: c.id, share: dominantShare(quantitiesOf(c.allocated), total, c.weight) }))
    .sort(byShareThenId)
    .map((c) => c.id);
}

export interface Client {
  readonly id: string;
  weight: number;
  /** Owned by the sorter once inserted: milli-units by slot. */
  allocated: Vec;
  share: number;
  /** Its index in the sorter's `order`, kept by the sorter (no search to find it). */
  at?: number;
}

/** Clients kept in DRF order; an allocation change repositions one client in O(log n + n) moves. */
export class SortedClients<C extends Client = Client> {
  readonly order: C[] = [];

  /** @param totals the cluster's scalar totals by slot: the denominators of shares. */
  constructor(private readonly totals: ReadonlyVec) {}

  insert(client: C): void {
    client.share = shareOf(client.allocated, this.totals, client.weight);
    const at = this.lowerBound(client);
    this.order.splice(at, 0, client);
    this.renumber(at);
  }

  /** Adds `delta` (times `sign`) to a client's allocation and moves it to its new place; true if it moved. */
  update(client: C, delta: ReadonlyVec, sign: 1 | -1 = 1): boolean {
    const at = this.indexOf(client);
    addVec(client.allocated, delta, sign);
    client.share = shareOf(client.allocated, this.totals, client.weight);
    return at >= 0 && this.reposition(at);
  }

  /**
   * Moves the client at `at` to its place: a binary search for it, then its neighbours shift by one
   * (no comparisons while shifting, and cheaper than two splices).
   */
  private reposition(at: number): boolean {
    const order = this.order;
    const c = order[at]!;
    if (at + 1 < order.length && byShareThenId(order[at + 1]!, c) < 0) {
      // Later: the first place in (at, n) whose client sorts after c.
      let lo = at + 1;
      let hi = order.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (byShareThenId(order[mid]!, c) < 0) lo = mid + 1;
        else hi = mid;
      }
      for (let i = at; i < lo - 1; i++) (order[i] = order[i + 1]!).at = i;
      order[lo - 1] = c;
      c.at = lo - 1;
      return true;
    } else if (at > 0 && byShareThenId(order[at - 1]!, c) > 0) {
      // Earlier: the first place in [0, at) whose client sorts after c.
      let lo = 0;
      let hi = at;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (byShareThenId(order[mid]!, c) < 0) lo = mid + 1;
        else hi = mid;
      }
      for (let i = at; i > lo; i--) (order[i] = order[i - 1]!).at = i;
      order[lo] = c;
      c.at = lo;
      return true;
    }
    return false;
  }

  remove(client: C): void {
    const at = this.indexOf(client);
    if (at < 0) return;
    this.order.splice(at, 1);
    client.at = undefined;
    this.renumber(at);
  }

  private renumber(from: number): void {
    for (let i = from; i < this.order.length; i++) this.order[i]!.at = i;
  }

  private lowerBound(c: Client): number {
    let lo = 0;
    let hi = this.order.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (byShareThenId(this.order[mid]!, c) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private indexOf(c: C): number {
    if (c.at !== undefined && this.order[c.at] === c) return c.at;
    const at = this.lowerBound(c);
    if (this.order[at] === c) return at;
    return this.order.indexOf(c);
  }
}

interface RoleNode extends Client {
  /** The role path; the leaf standing for a role's own frameworks has the role's path. */
  readonly path: string;
  readonly parent: RoleNode | undefined;
  children: SortedClients<RoleNode> | undefined;
  /** Set on a leaf: the role whose frameworks it sorts. */
  readonly leaf: boolean;
  /** A leaf that wants offers; inactive leaves still count in their ancestors' shares. */
  active: boolean;
}

/**
 * Mesos's hierarchical role sorter. Each internal node orders its children by the share of their whole
 * subtree; a role that has frameworks and subroles gets a "self" leaf among its children, as in Mesos.
 * Every role holding resources is a leaf so that it counts in its ancestors' shares; only active leaves
 * (roles with frameworks that want offers) are yielded by `sort`.
 */
export class RoleSorter {
  private readonly root: RoleNode;
  private readonly leaves = new Map<string, RoleNode>();
  private cached: string[] | undefined;

  constructor(
    private readonly totals: ReadonlyVec,
    private readonly weightOf: (role: string) => number,
  ) {
    this.root = this.node('', undefined, false);
    this.root.children = new SortedClients<RoleNode>(totals);
  }

  /** Adds a role with its current allocation (its own frameworks' allocation, subroles excluded). */
  addLeaf(role: string, allocated: ReadonlyVec, active = true): void {
    const existing = this.leaves.get(role);
    this.cached = undefined;
    if (existing) {
      existing.active ||= active;
      this.allocate(role, allocated);
      return;
    }
    const parts = role.split('/');
    let parent = this.root;
    for (let i = 1; i <= parts.length; i++) parent = this.child(parent, parts.slice(0, i).join('/'));
    // `parent` is now the role's own node; its frameworks sit in a leaf below it.
    const leaf = this.node(role, parent, true);
    leaf.active = active;
    parent.children ??= new SortedClients<RoleNode>(this.totals);
    parent.children.insert(leaf);
    this.leaves.set(role, leaf);
    this.allocate(role, allocated);
  }

  /** Charges `delta` to the role and its ancestors and re-sorts only those nodes. */
  allocate(role: string, delta: ReadonlyVec, sign: 1 | -1 = 1): void {
    let node = this.leaves.get(role);
    while (node?.parent) {
      const siblings = node.parent.children!;
      if (siblings.order.length === 1) {
        // An only child keeps its place: just keep its sum and share.
        addVec(node.allocated, delta, sign);
        node.share = shareOf(node.allocated, this.totals, node.weight);
      } else if (siblings.update(node, delta, sign)) this.cached = undefined;
      node = node.parent;
    }
  }

  share(role: string): number {
    return this.leaves.get(role)?.share ?? 0;
  }

  /** Active leaf roles in hierarchical DRF order. Cached until the order changes. */
  sort(): readonly string[] {
    if (this.cached) return this.cached;
    const out: string[] = [];
    const stack: RoleNode[] = [this.root];
    while (stack.length > 0) {
      const n = stack.pop()!;
      if (n.leaf) {
        if (n.active) out.push(n.path);
        continue;
      }
      const order = n.children?.order ?? [];
      for (let i = order.length - 1; i >= 0; i--) stack.push(order[i]!);
    }
    this.cached = out;
    return out;
  }

  private node(path: string, parent: RoleNode | undefined, leaf: boolean): RoleNode {
    const id = leaf ? `${path}\u0000` : path;
    const weight = this.weightOf(path);
    const allocated = this.totals.slice().fill(0);
    return {
      id,
      path,
      parent,
      leaf,
      active: false,
      children: undefined,
      weight,
      allocated,
      share: 0,
      at: -1,
    };
  }

  private child(parent: RoleNode, path: string): RoleNode {
    for (const c of parent.children?.order ?? []) if (!c.leaf && c.path === path) return c;
    const created = this.node(path, parent, false);
    created.children = new SortedClients<RoleNode>(this.totals);
    parent.children ??= new SortedClients<RoleNode>(this.totals);
    parent.children.insert(created);
    return created;
  }
}
