/**
 * Role policy set by operators: weights (the fair share) and quotas (guarantees and limits). The master
 * owns one RolePolicy, persists each change under `master/weights/` and `master/quotas/`, and hands the
 * values to the allocator. `computeRoleViews` is the operator API's view of the roles (pure).
 */
import type { RoleView } from '../api/operator.js';
import { InvalidArgumentError } from '../core/errors.js';
import { addResources, type Resource } from '../core/resources.js';

export interface Quota {
  guarantees: Resource[];
  limits: Resource[];
}

export const ROLE_PATTERN = /^(\*|[a-zA-Z0-9_][a-zA-Z0-9_.-]*(\/[a-zA-Z0-9_][a-zA-Z0-9_.-]*)*)$/;

export function validateRole(role: string): void {
  if (!ROLE_PATTERN.test(role) || role.length > 255) {
    throw new InvalidArgumentError(
      `bad role "${role}": use letters, digits, "_", "." and "-", with "/" between levels`,
    );
  }
}

export class RolePolicy {
  readonly weights = new Map<string, number>();
  readonly quotas = new Map<string, Quota>();

  setWeight(role: string, weight: number): void {
    validateRole(role);
    if (!(weight > 0) || !Number.isFinite(weight))
      throw new InvalidArgumentError(`bad weight ${weight}: use a positive number`);
    this.weights.set(role, weight);
  }

  /** An empty guarantee and limit removes the quota. */
  setQuota(role: string, quota: Quota): void {
    validateRole(role);
    if (role === '*') throw new InvalidArgumentError('the default role "*" cannot have a quota');
    if (quota.guarantees.length === 0 && quota.limits.length === 0) this.quotas.delete(role);
    else this.quotas.set(role, quota);
  }
}

export interface RoleHolding {
  role: string;
  frameworkId?: string;
  resources: readonly Resource[];
}

/** Every role that has a weight, a quota, a framework or holds something, with what it holds. */
export function computeRoleViews(
  policy: RolePolicy,
  frameworkRoles: ReadonlyMap<string, readonly string[]>,
  holdings: readonly RoleHolding[],
): RoleView[] {
  const names = new Set<string>([
    ...policy.weights.keys(),
    ...policy.quotas.keys(),
    ...holdings.map((h) => h.role),
  ]);
  for (const roles of frameworkRoles.values()) for (const r of roles) names.add(r);
  return [...names].sort().map((name) => ({
    name,
    weight: policy.weights.get(name) ?? 1,
    quota: policy.quotas.get(name) ?? { guarantees: [], limits: [] },
    allocated: holdings
      .filter((h) => h.role === name)
      .reduce<Resource[]>((acc, h) => addResources(acc, h.resources), []),
    frameworks: [...frameworkRoles].filter(([, roles]) => roles.includes(name)).map(([id]) => id),
  }));
}
