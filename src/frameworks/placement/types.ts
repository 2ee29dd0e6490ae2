/**
 * Placement: which candidates (offers, or agents' free resources for dry runs) take which instances of a
 * service or job, under resources, host ports and Marathon-style constraints — and, for what cannot be
 * placed, why. Everything here is pure data; see `docs/placement.md` for the semantics.
 */
import type { Offer } from '../../api/mesos.js';
import type { Resource } from '../../core/resources.js';

export type { Offer, Resource };

export type ConstraintOperator = 'UNIQUE' | 'CLUSTER' | 'GROUP_BY' | 'LIKE' | 'UNLIKE' | 'MAX_PER' | 'IS';

/** Every operator, in the order error messages list them. */
export const CONSTRAINT_OPERATORS: readonly ConstraintOperator[] = [
  'UNIQUE',
  'CLUSTER',
  'GROUP_BY',
  'LIKE',
  'UNLIKE',
  'MAX_PER',
  'IS',
];

/** `field` is `hostname` or an agent attribute name; `value` per operator (GROUP_BY/MAX_PER: a count). */
export interface Constraint {
  field: string;
  operator: ConstraintOperator;
  value?: string;
}

/** One entry per host port wanted. */
export interface PortRequest {
  name?: string;
}

export interface InstanceRequirement {
  cpus: number;
  mem: number;
  disk?: number;
  gpus?: number;
  ports: PortRequest[];
  /** The role the resources must be allocatable to (`*` = any). */
  role: string;
  constraints: Constraint[];
}

/** Something an instance can be placed on: an offer, or (for dry runs) an agent's free resources. */
export interface Candidate {
  /** Offer id, or agent id for dry runs. */
  id: string;
  agentId: string;
  hostname: string;
  /** Text and scalar attributes as strings. */
  attributes: Record<string, string>;
  /** What is free on it (offer resources as received; allocation_info ok). */
  resources: Resource[];
}

/** An instance of the same service/job already running or placed (for UNIQUE, GROUP_BY, MAX_PER, CLUSTER). */
export interface ExistingInstance {
  agentId: string;
  hostname: string;
  attributes: Record<string, string>;
}

export interface Placement {
  candidateId: string;
  agentId: string;
  hostname: string;
  /**
   * Exactly what to put in TaskInfo.resources: taken from the candidate, keeping the candidate's
   * role/reservation/allocation_info per resource.
   */
  resources: Resource[];
  /** Host ports, in the order of `ports` in the requirement. */
  ports: number[];
  portNames: Array<string | undefined>;
}

export interface PlacementResult {
  /** At most `count`, in order. */
  placements: Placement[];
  /** `count - placements.length`. */
  unplaced: number;
  /**
   * Per-reason counts of candidates that could not take (another) instance, e.g.
   * `{ reason: "fail UNIQUE hostname", agents: 2 }`.
   */
  reasons: Array<{ reason: string; agents: number }>;
  /**
   * One line, e.g. "3 of 5 instances unplaced: 2 agents fail UNIQUE hostname, 4 lack mem (need 512, max
   * free 256)". Empty when all placed.
   */
  summary: string;
}
