/**
 * Offer operations that change what an agent has, as pure functions: RESERVE and UNRESERVE (dynamic
 * reservations), CREATE and DESTROY (persistent volumes). `applyOperation(resources, op)` works on an
 * agent's total, on an offer's resources or on a framework's allocation alike: it checks the operation
 * and returns the converted resources, or the first problem as one line.
 *
 * Resources are compared without `allocation_info`; when the input is allocated to one role (an offer),
 * the result is allocated to that role too.
 */
import {
  addResources,
  allocateTo,
  containsResources,
  destroyVolume,
  formatResources,
  isPersistentVolume,
  isRoleOrSubrole,
  reservationsOf,
  reservedRole,
  subtractResources,
  unallocate,
  unreserve,
  type Resource,
} from '../../core/resources.js';
import { containerPathProblem, segmentProblem, volumeInUse } from '../../core/volumes.js';

export interface ResourceOperation {
  type: string;
  reserve?: { resources: Resource[] };
  unreserve?: { resources: Resource[] };
  create?: { volumes: Resource[] };
  destroy?: { volumes: Resource[] };
}

export interface OperationContext {
  /** The principal of the framework or operator; when set, reservations and volumes must name it. */
  principal?: string;
  /** The roles the framework may reserve for (its subscribed roles and their subroles). */
  roles?: readonly string[];
  /** The agent's live tasks: DESTROY of a volume one of them uses is refused. */
  tasks?: ReadonlyArray<{ id: string; resources: readonly Resource[] }>;
}

export type OperationResult = { ok: true; resources: Resource[] } | { ok: false; reason: string };

/** The operations this module applies; LAUNCH and LAUNCH_GROUP do not change an agent's total. */
export const RESOURCE_OPERATIONS = new Set(['RESERVE', 'UNRESERVE', 'CREATE', 'DESTROY']);

/** A conversion: take `consumed` out, put `converted` in. */
interface Conversion {
  consumed: Resource[];
  converted: Resource[];
}

type Checked = { ok: true; conversion: Conversion } | { ok: false; reason: string };

const fail = (reason: string): { ok: false; reason: string } => ({ ok: false, reason });

function checkReserve(list: readonly Resource[], ctx: OperationContext): Checked {
  if (list.length === 0) return fail('RESERVE needs reserve.resources');
  for (const r of list) {
    const stack = reservationsOf(r);
    const top = stack[stack.length - 1];
    if (!top || top.type !== 'DYNAMIC')
      return fail(`RESERVE of ${r.name}: the innermost reservation must be DYNAMIC with a role`);
    if (top.role === '*' || top.role === '') return fail(`RESERVE of ${r.name}: cannot reserve to role "*"`);
    const below = stack.length > 1 ? stack[stack.length - 2]!.role : '*';
    if (below !== '*' && !isRoleOrSubrole(top.role, below))
      return fail(`RESERVE of ${r.name}: role "${top.role}" does not refine the reservation to "${below}"`);
    if (below !== '*' && top.role === below)
      return fail(`RESERVE of ${r.name}: it is already reserved to "${below}"`);
    if (isPersistentVolume(r)) return fail(`RESERVE of ${r.name}: a persistent volume cannot be reserved`);
    if (ctx.principal !== undefined && top.principal !== ctx.principal)
      return fail(`RESERVE of ${r.name}: the reservation's principal must be "${ctx.principal}"`);
    if (ctx.roles && !ctx.roles.some((role) => isRoleOrSubrole(top.role, role)))
      return fail(`RESERVE of ${r.name}: the framework is not subscribed to role "${top.role}"`);
  }
  return { ok: true, conversion: { consumed: unreserve(list), converted: [...list] } };
}

function checkUnreserve(list: readonly Resource[]): Checked {
  if (list.length === 0) return fail('UNRESERVE needs unreserve.resources');
  for (const r of list) {
    const stack = reservationsOf(r);
    const top = stack[stack.length - 1];
    if (!top) return fail(`UNRESERVE of ${r.name}: it is not reserved`);
    if (top.type !== 'DYNAMIC') return fail(`UNRESERVE of ${r.name}: a static reservation cannot be undone`);
    if (isPersistentVolume(r))
      return fail(`UNRESERVE of ${r.name}: it is a persistent volume; DESTROY it first`);
  }
  return { ok: true, conversion: { consumed: [...list], converted: unreserve(list) } };
}

const RELATIVE_PATH = /^(?!\/)(?!.*(^|\/)\.\.(\/|$)).+$/;

function checkCreate(
  list: readonly Resource[],
  existing: readonly Resource[],
  ctx: OperationContext,
): Checked {
  if (list.length === 0) return fail('CREATE needs create.volumes');
  const ids = new Set(existing.filter(isPersistentVolume).map((v) => volumeId(v)));
  for (const v of list) {
    const id = v.disk?.persistence?.id;
    const path = v.disk?.volume?.container_path;
    if (v.name !== 'disk' || v.type !== 'SCALAR') return fail('CREATE: a volume must be a disk scalar');
    if (!id) return fail('CREATE: a volume needs disk.persistence.id');
    const idProblem = segmentProblem(id);
    if (idProblem) return fail(`CREATE: disk.persistence.id "${id}" ${idProblem}`);
    if (!path || !RELATIVE_PATH.test(path) || containerPathProblem(path) !== undefined)
      return fail(
        `CREATE of volume "${id}": disk.volume.container_path must be a relative path without ".."`,
      );
    const mode = v.disk?.volume?.mode;
    if (mode !== 'RW' && mode !== 'RO')
      return fail(`CREATE of volume "${id}": disk.volume.mode must be RW or RO`);
    if (reservedRole(v) === '*')
      return fail(`CREATE of volume "${id}": persistent volumes need reserved disk; RESERVE it first`);
    if (ids.has(volumeId(v))) return fail(`CREATE of volume "${id}": the id is already in use on this agent`);
    ids.add(volumeId(v));
    const principal = v.disk?.persistence?.principal;
    if (ctx.principal !== undefined && principal !== ctx.principal)
      return fail(`CREATE of volume "${id}": disk.persistence.principal must be "${ctx.principal}"`);
  }
  return { ok: true, conversion: { consumed: list.map(destroyVolume), converted: [...list] } };
}

function checkDestroy(list: readonly Resource[], ctx: OperationContext): Checked {
  if (list.length === 0) return fail('DESTROY needs destroy.volumes');
  for (const v of list)
    if (!isPersistentVolume(v)) return fail(`DESTROY of ${v.name}: it is not a persistent volume`);
  const inUse = volumeInUse(list, ctx.tasks ?? []);
  if (inUse !== undefined) return fail(`DESTROY: ${inUse}`);
  return { ok: true, conversion: { consumed: [...list], converted: list.map(destroyVolume) } };
}

/** Volumes are unique per role on an agent (Mesos's rule). */
const volumeId = (v: Resource): string => `${reservedRole(v)}\u0000${v.disk?.persistence?.id ?? ''}`;

function conversionOf(op: ResourceOperation, existing: readonly Resource[], ctx: OperationContext): Checked {
  switch (op.type) {
    case 'RESERVE':
      return checkReserve(unallocate(op.reserve?.resources ?? []), ctx);
    case 'UNRESERVE':
      return checkUnreserve(unallocate(op.unreserve?.resources ?? []));
    case 'CREATE':
      return checkCreate(unallocate(op.create?.volumes ?? []), existing, ctx);
    case 'DESTROY':
      return checkDestroy(unallocate(op.destroy?.volumes ?? []), ctx);
    default:
      return fail(`${op.type} does not change an agent's resources`);
  }
}

/** The one role `resources` are allocated to, undefined when none; null when several. */
function allocationRole(resources: readonly Resource[]): string | undefined | null {
  let role: string | undefined;
  for (const r of resources) {
    const next = r.allocation_info?.role;
    if (next === undefined) continue;
    if (role !== undefined && next !== role) return null;
    role = next;
  }
  return role;
}

export function applyOperation(
  resources: readonly Resource[],
  op: ResourceOperation,
  ctx: OperationContext = {},
): OperationResult {
  const role = allocationRole(resources);
  if (role === null) return fail(`${op.type}: apply operations to the resources of one role at a time`);
  const plain = unallocate(resources);
  const checked = conversionOf(op, plain, ctx);
  if (!checked.ok) return checked;
  const { consumed, converted } = checked.conversion;
  if (!containsResources(plain, consumed))
    return fail(`${op.type}: the resources do not hold ${formatResources(consumed)}`);
  const out = addResources(subtractResources(plain, consumed), converted);
  return { ok: true, resources: role === undefined ? out : allocateTo(out, role) };
}

/** Applies operations in order; the first problem stops it. */
export function applyOperations(
  resources: readonly Resource[],
  ops: readonly ResourceOperation[],
  ctx: OperationContext = {},
): OperationResult {
  let current: Resource[] = [...resources];
  for (const op of ops) {
    if (!RESOURCE_OPERATIONS.has(op.type)) continue;
    const result = applyOperation(current, op, ctx);
    if (!result.ok) return result;
    current = result.resources;
  }
  return { ok: true, resources: current };
}
