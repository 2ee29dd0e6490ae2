/**
 * One round of offers: which pending instances of which services go on which offers. Pure: services are
 * placed in the order given, each on what the previous ones left of the offers.
 */
import { subtractResources, type Resource } from '../../core/resources.js';
import {
  placeInstances,
  type Candidate,
  type ExistingInstance,
  type InstanceRequirement,
  type Placement,
} from '../placement/index.js';
import type { ServiceSpec } from './types.js';

export interface ServiceWork<I> {
  serviceId: string;
  spec: ServiceSpec;
  /** The instances to place, in launch order. */
  pending: I[];
  /** Its instances already on agents (for UNIQUE, GROUP_BY, MAX_PER, CLUSTER). */
  existing: ExistingInstance[];
}

export interface OfferRound<I> {
  placed: Array<{ serviceId: string; instance: I; placement: Placement }>;
  /** Instances left unplaced, over all services. */
  unplaced: number;
  /** Per service: the placement summary when some were left unplaced, else undefined. */
  summaries: Map<string, string | undefined>;
}

export function requirementOf(spec: ServiceSpec): InstanceRequirement {
  const r = spec.resources;
  return {
    cpus: r.cpus,
    mem: r.mem,
    disk: r.disk,
    gpus: r.gpus,
    ports: r.ports,
    role: spec.role,
    constraints: spec.constraints,
  };
}

export function computeOfferRound<I>(
  work: ReadonlyArray<ServiceWork<I>>,
  offered: Candidate[],
): OfferRound<I> {
  const candidates = new Map(offered.map((c) => [c.id, c]));
  const round: OfferRound<I> = { placed: [], unplaced: 0, summaries: new Map() };
  work.forEach((w, index) => {
    const last = index === work.length - 1;
    const result = placeInstances(
      requirementOf(w.spec),
      w.pending.length,
      [...candidates.values()],
      w.existing,
    );
    result.placements.forEach((placement, k) => {
      round.placed.push({ serviceId: w.serviceId, instance: w.pending[k]!, placement });
      // What later services may still use of the offer (nothing to keep track of after the last one).
      const c = last ? undefined : candidates.get(placement.candidateId);
      if (c)
        candidates.set(c.id, {
          ...c,
          resources: subtractResources(c.resources, placement.resources as Resource[]),
        });
    });
    round.unplaced += result.unplaced;
    round.summaries.set(w.serviceId, result.unplaced > 0 ? result.summary : undefined);
  });
  return round;
}
