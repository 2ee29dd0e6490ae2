/**
 * The inputs and outputs of an allocation cycle (`computeAllocation`), as plain data.
 */
import { addResources, allocateTo, type Resource } from '../../core/resources.js';
import { containsQuantities, quantitiesOf, type ReadonlyQuantities } from './quantities.js';
import type { Quota } from './quota.js';
import { addVec, type Dims, type ReadonlyVec } from './vector.js';

export interface AllocationAgent {
  readonly id: string;
  /** Total minus what is offered or allocated, without `allocation_info`. */
  readonly available: readonly Resource[];
  /** False for deactivated, disconnected or draining agents: they get no offers. */
  readonly active: boolean;
  /** The agent has GPUs: only GPU_RESOURCES-capable frameworks are offered it (Mesos's default). */
  readonly gpus?: boolean;
  /**
   * The scalar sums of `available`, kept by the owner between cycles so that a cycle need not read the
   * resources (used only while `sums.resources` is `available` and the vectors have a slot for every
   * scalar name of the cycle, in `AllocationInput.names` order).
   */
  readonly sums?: AvailableSums;
}

/** Scalar sums of an agent's free resources over `AllocationInput.names`, in milli-units. */
export interface AvailableSums {
  /** The resources summed. */
  readonly resources: readonly Resource[];
  readonly all: ReadonlyVec;
  /** The unreserved part of `all` (the same array when nothing is reserved). */
  readonly unreserved: ReadonlyVec;
  /** Holds refined reservations (a stack deeper than one). */
  readonly refined: boolean;
  /** Only unreserved resources. */
  readonly plain: boolean;
}

export interface OfferFilter {
  /** Refused resources: an offer that is a subset of these is not made. */
  readonly resources: readonly Resource[];
  /** Epoch ms after which the filter no longer applies. */
  readonly until: number;
}

export interface RoleAllocation {
  /** Every scalar offered or allocated in the role (reserved or not), in milli-units. */
  readonly all: ReadonlyQuantities;
  /** The unreserved part of `all` (what counts toward quota besides reservations). */
  readonly unreserved: ReadonlyQuantities;
  /**
   * The same sums as vectors over `AllocationInput.names` (slots past a vector's end are zero), kept by
   * the owner so that a cycle need not read maps; used only when the input has `names`.
   */
  readonly vectors?: { readonly all: ReadonlyVec; readonly unreserved: ReadonlyVec };
}

export interface AllocationFramework {
  readonly id: string;
  readonly roles: readonly string[];
  readonly active: boolean;
  readonly suppressedRoles: ReadonlySet<string>;
  /** Mesos capability names: GPU_RESOURCES, RESERVATION_REFINEMENT, MULTI_ROLE, … */
  readonly capabilities: ReadonlySet<string>;
  /** Role → what the framework holds in it. Roles it left but still holds resources in count too. */
  readonly allocated: ReadonlyMap<string, RoleAllocation>;
  /** Role → agent id → refuse filters. */
  readonly filters: ReadonlyMap<string, ReadonlyMap<string, readonly OfferFilter[]>>;
}

export interface RoleSettings {
  weight?: number;
  quota?: Quota;
}

export interface AllocationInput {
  now: number;
  agents: Iterable<AllocationAgent>;
  frameworks: Iterable<AllocationFramework>;
  /** Weights and quotas by role path; roles not listed have weight 1 and no quota. */
  roles: ReadonlyMap<string, RoleSettings>;
  /** Scalar totals of the cluster, the denominators of DRF shares. */
  totals: ReadonlyQuantities;
  /** Role → scalars reserved to exactly that role on all agents (they count toward its quota). */
  reserved: ReadonlyMap<string, ReadonlyQuantities>;
  /** An offer must hold at least one of these; default Mesos's `cpus:0.01|mem:32`. Empty: any. */
  minAllocatable?: readonly ReadonlyQuantities[];
  /** The scalar names of the agents' `sums`, by slot (they come first in the cycle's slots). */
  names?: readonly string[];
}

export interface AllocationDecision {
  readonly frameworkId: string;
  readonly agentId: string;
  readonly role: string;
  /** The offered resources as recorded (without `allocation_info`). */
  readonly offered: readonly Resource[];
  /** The offered resources, each carrying `allocation_info: { role }`; built on first read. */
  readonly resources: Resource[];
  /** Scalars of `offered`, all and the unreserved part, in milli-units; built on first read. */
  readonly quantities: RoleAllocation;
  /** The same as vectors over `AllocationResult.dims` (cheap to add to running sums). */
  readonly vectors: { readonly all: ReadonlyVec; readonly unreserved: ReadonlyVec };
}

export interface AllocationResult {
  decisions: Decision[];
  /** What is left free on each agent that got a decision. */
  readonly remaining: Map<string, readonly Resource[]>;
  /** The same, by the input's agent objects, in the same order (no lookups by id). */
  readonly changed: ReadonlyArray<{ readonly agent: AllocationAgent; readonly free: readonly Resource[] }>;
  /** The scalar names of the decisions' vectors, by slot. */
  dims: readonly string[];
}

/** A decision; the derived forms are built lazily, since the allocator itself only needs `offered`. */
export class Decision implements AllocationDecision {
  private withInfo: Resource[] | undefined;
  private maps: RoleAllocation | undefined;

  constructor(
    readonly frameworkId: string,
    readonly agentId: string,
    readonly role: string,
    public offered: readonly Resource[],
    /** Scalars of `offered` and their unreserved part, as vectors over `AllocationResult.dims`. */
    public all: ReadonlyVec,
    public unreserved: ReadonlyVec,
    private readonly dims: Dims,
    /** The agent and framework of the input this decision is about (the allocator's own records). */
    readonly agent?: AllocationAgent,
    readonly framework?: AllocationFramework,
  ) {}

  get vectors(): { readonly all: ReadonlyVec; readonly unreserved: ReadonlyVec } {
    return { all: this.all, unreserved: this.unreserved };
  }

  get resources(): Resource[] {
    return (this.withInfo ??= allocateTo(this.offered, this.role));
  }

  get quantities(): RoleAllocation {
    return (this.maps ??= {
      all: this.dims.toMap(this.all),
      unreserved: this.dims.toMap(this.unreserved),
    });
  }

  /** Adds a later offer of the same framework, agent and role (stage 2 after stage 1). */
  merge(offer: readonly Resource[], all: ReadonlyVec, unreserved: ReadonlyVec): void {
    const sum = (a: ReadonlyVec, b: ReadonlyVec): number[] => addVec(a.slice(), b);
    this.offered = addResources(this.offered, offer);
    this.all = sum(this.all, all);
    this.unreserved = sum(this.unreserved, unreserved);
    this.withInfo = undefined;
    this.maps = undefined;
  }
}

/** The role of resources recorded for a framework that has not subscribed yet: held, never shared out. */
export const UNKNOWN_ROLE = '';

export const DEFAULT_MIN_ALLOCATABLE: readonly ReadonlyQuantities[] = [
  new Map([['cpus', 10]]),
  new Map([['mem', 32_000]]),
];

/** Mesos's minimum allocatable resources: an offer smaller than this is not worth making. */
export function isAllocatable(
  resources: readonly Resource[],
  min: readonly ReadonlyQuantities[] = DEFAULT_MIN_ALLOCATABLE,
): boolean {
  if (resources.length === 0) return false;
  if (min.length === 0) return true;
  const q = quantitiesOf(resources);
  return min.some((m) => containsQuantities(q, m));
}
