/**
 * "Why won't it launch": per-candidate shortfalls aggregated into reasons and a one-line summary, and a
 * per-agent, per-constraint explanation for dry runs.
 */
import { ConstraintTracker } from './constraints.js';
import { capacityOf, lackOf, needOf, SCALAR_NAMES } from './capacity.js';
import type { Lack } from './capacity.js';
import type { Candidate, ExistingInstance, InstanceRequirement, PlacementResult } from './types.js';

export const NO_CANDIDATES = 'no agents offered resources';

export interface ReasonCount {
  reason: string;
  agents: number;
}

/** Why one candidate cannot take the next instance: a failed constraint, or a resource it lacks. */
export type Shortfall = { constraint: string } | { lack: Lack };

/**
 * Aggregates shortfalls by reason text: constraint failures by their text, resource shortfalls by the
 * resource with the largest free amount seen across candidates ("lack mem (need 512, max free 256)").
 * Ordered by number of agents (most first), then by first appearance.
 */
export function aggregateReasons(shortfalls: Iterable<Shortfall>): ReasonCount[] {
  const groups = new Map<string, { agents: number; lack?: Lack }>();
  for (const s of shortfalls) {
    const key = 'constraint' in s ? s.constraint : `lack ${s.lack.name}`;
    const g = groups.get(key);
    if (!g) groups.set(key, 'lack' in s ? { agents: 1, lack: { ...s.lack } } : { agents: 1 });
    else {
      g.agents++;
      if (g.lack && 'lack' in s) g.lack.free = Math.max(g.lack.free, s.lack.free);
    }
  }
  const out = [...groups].map(([key, g]) => ({
    reason: g.lack
      ? `${key} (need ${g.lack.need}, ${g.agents > 1 ? 'max free' : 'free'} ${g.lack.free})`
      : key,
    agents: g.agents,
  }));
  return out.sort((a, b) => b.agents - a.agents);
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** "3 of 5 instances unplaced: 2 agents fail UNIQUE hostname, 4 lack mem (need 512, max free 256)"; "" when all placed. */
export function summarize(count: number, unplaced: number, reasons: readonly ReasonCount[]): string {
  if (unplaced <= 0) return '';
  const head = `${unplaced} of ${plural(count, 'instance')} unplaced`;
  if (reasons.length === 0) return head;
  const parts = reasons.map((r, i) => {
    if (r.reason === NO_CANDIDATES) return r.reason;
    const text = r.agents === 1 ? r.reason.replace(/^(fail|lack) /, '$1s ') : r.reason;
    return `${i === 0 ? plural(r.agents, 'agent') : r.agents} ${text}`;
  });
  return `${head}: ${parts.join(', ')}`;
}

/** The `reasons` and `summary` of a result, from each candidate's shortfall for the next instance. */
export function explainUnplaced(
  count: number,
  unplaced: number,
  candidates: number,
  shortfalls: Iterable<Shortfall>,
): Pick<PlacementResult, 'reasons' | 'summary'> {
  if (unplaced <= 0) return { reasons: [], summary: '' };
  const reasons = candidates === 0 ? [{ reason: NO_CANDIDATES, agents: 0 }] : aggregateReasons(shortfalls);
  return { reasons, summary: summarize(count, unplaced, reasons) };
}

export interface CheckVerdict {
  /** `UNIQUE hostname`, `LIKE zone ~ a|b`, or a resource name (`cpus`, `mem`, `disk`, `gpus`, `ports`). */
  check: string;
  ok: boolean;
  /** When not ok: the reason text as it appears in `PlacementResult.reasons`. */
  reason?: string;
}

export interface CandidateExplanation {
  candidateId: string;
  agentId: string;
  hostname: string;
  /** Whether one more instance fits (every check ok). */
  fits: boolean;
  /** The first failing check's reason (the one `placeInstances` counts). */
  reason?: string;
  checks: CheckVerdict[];
}

const lackText = (l: Lack): string => `lack ${l.name} (need ${l.need}, free ${l.free})`;

/**
 * For a dry run or a "why is it waiting" view: every candidate's verdict on every constraint and every
 * needed resource, for one more instance given the existing ones. Pure; does not place anything.
 */
export function explainCandidates(
  req: InstanceRequirement,
  candidates: readonly Candidate[],
  existing: readonly ExistingInstance[],
): CandidateExplanation[] {
  const tracker = new ConstraintTracker(req.constraints, existing);
  const need = needOf(req);
  return candidates.map((cand) => {
    const checks: CheckVerdict[] = tracker
      .checkAll(cand)
      .map((v) =>
        v.ok ? { check: v.constraint, ok: true } : { check: v.constraint, ok: false, reason: v.reason! },
      );
    const cap = capacityOf(cand, req.role);
    for (const name of SCALAR_NAMES) {
      if (need.milli[name] <= 0) continue;
      const lack = lackOf(cap, {
        milli: { cpus: 0, mem: 0, disk: 0, gpus: 0, [name]: need.milli[name] },
        ports: 0,
      });
      checks.push(lack ? { check: name, ok: false, reason: lackText(lack) } : { check: name, ok: true });
    }
    if (need.ports > 0) {
      const lack = lackOf(cap, { milli: { cpus: 0, mem: 0, disk: 0, gpus: 0 }, ports: need.ports });
      checks.push(
        lack ? { check: 'ports', ok: false, reason: lackText(lack) } : { check: 'ports', ok: true },
      );
    }
    const failed = checks.find((c) => !c.ok);
    const base = { candidateId: cand.id, agentId: cand.agentId, hostname: cand.hostname };
    return failed
      ? { ...base, fits: false, reason: failed.reason!, checks }
      : { ...base, fits: true, checks };
  });
}
