/**
 * What is left on one candidate while instances are placed on it: scalar pools (cpus, mem, disk, gpus)
 * and port ranges, each pool keeping the resource it came from so that what is taken carries the
 * candidate's role, reservations and allocation_info unchanged.
 */
import { fromMilli, isAllocatableTo, reservedRole, toMilli } from '../../core/resources.js';
import type { Range, Resource } from '../../core/resources.js';
import type { Candidate, InstanceRequirement } from './types.js';

export const SCALAR_NAMES = ['cpus', 'mem', 'disk', 'gpus'] as const;
export type ScalarName = (typeof SCALAR_NAMES)[number];

interface ScalarPool {
  proto: Resource;
  milli: number;
}

interface PortPool {
  proto: Resource;
  /** Sorted, merged, disjoint; ports are taken from the front (lowest first). */
  ranges: Range[];
}

/** What one instance needs, in milli-units for scalars. */
export interface Need {
  milli: Record<ScalarName, number>;
  ports: number;
}

/** The first resource a candidate lacks for one more instance. */
export interface Lack {
  name: ScalarName | 'ports';
  need: number;
  free: number;
}

export interface Capacity {
  scalars: Record<ScalarName, ScalarPool[]>;
  /** Free milli-units per scalar. */
  free: Record<ScalarName, number>;
  ports: PortPool[];
  freePorts: number;
}

export function needOf(req: InstanceRequirement): Need {
  return {
    milli: {
      cpus: toMilli(req.cpus),
      mem: toMilli(req.mem),
      disk: toMilli(req.disk ?? 0),
      gpus: toMilli(req.gpus ?? 0),
    },
    ports: req.ports.length,
  };
}

/**
 * Whether `r` may be used for an instance of `role`. `*` takes anything offered; any other role takes
 * resources allocatable to it and, when the offer says which role they are allocated to, only that role's.
 */
export function usableFor(r: Resource, role: string): boolean {
  if (role === '*') return true;
  if (r.allocation_info && r.allocation_info.role !== role) return false;
  return isAllocatableTo(r, role);
}

const isVolume = (r: Resource): boolean => r.disk !== undefined && (!!r.disk.persistence || !!r.disk.volume);

function normalized(list: readonly Range[]): Range[] {
  const sorted = list
    .filter((x) => Number.isInteger(x.begin) && Number.isInteger(x.end) && x.end >= x.begin)
    .map((x) => ({ begin: x.begin, end: x.end }))
    .sort((a, b) => a.begin - b.begin);
  const out: Range[] = [];
  for (const x of sorted) {
    const last = out[out.length - 1];
    if (last && x.begin <= last.end + 1) last.end = Math.max(last.end, x.end);
    else out.push(x);
  }
  return out;
}

/** Reserved resources are used before unreserved ones, so reservations made for a role get used. */
const reservedFirst = (a: { proto: Resource }, b: { proto: Resource }): number =>
  Number(reservedRole(a.proto) === '*') - Number(reservedRole(b.proto) === '*');

export function capacityOf(candidate: Candidate, role: string): Capacity {
  const cap: Capacity = {
    scalars: { cpus: [], mem: [], disk: [], gpus: [] },
    free: { cpus: 0, mem: 0, disk: 0, gpus: 0 },
    ports: [],
    freePorts: 0,
  };
  for (const r of candidate.resources) {
    if (!usableFor(r, role)) continue;
    if (r.type === 'SCALAR' && (SCALAR_NAMES as readonly string[]).includes(r.name) && !isVolume(r)) {
      const milli = toMilli(r.scalar?.value ?? 0);
      if (!(milli > 0)) continue;
      const name = r.name as ScalarName;
      cap.scalars[name].push({ proto: r, milli });
      cap.free[name] += milli;
    } else if (r.type === 'RANGES' && r.name === 'ports') {
      const list = normalized(r.ranges?.range ?? []);
      if (list.length === 0) continue;
      cap.ports.push({ proto: r, ranges: list });
      cap.freePorts += list.reduce((n, x) => n + x.end - x.begin + 1, 0);
    }
  }
  for (const name of SCALAR_NAMES) cap.scalars[name].sort(reservedFirst);
  cap.ports.sort(reservedFirst);
  return cap;
}

/** The first resource `cap` lacks for `need` (cpus, mem, disk, gpus, ports), or undefined when it fits. */
export function lackOf(cap: Capacity, need: Need): Lack | undefined {
  for (const name of SCALAR_NAMES) {
    const want = need.milli[name];
    if (want > 0 && cap.free[name] < want)
      return { name, need: fromMilli(want), free: fromMilli(Math.max(0, cap.free[name])) };
  }
  if (need.ports > cap.freePorts) return { name: 'ports', need: need.ports, free: cap.freePorts };
  return undefined;
}

function withScalar(proto: Resource, milli: number): Resource {
  return { ...proto, scalar: { value: fromMilli(milli) } };
}

/** Takes the lowest free port over all pools; the caller has checked that one is free. */
function takePort(cap: Capacity, taken: Map<PortPool, number[]>): number {
  let best: PortPool | undefined;
  for (const pool of cap.ports) {
    const head = pool.ranges[0];
    if (head && (!best || head.begin < best.ranges[0]!.begin)) best = pool;
  }
  const head = best!.ranges[0]!;
  const port = head.begin;
  if (head.begin === head.end) best!.ranges.shift();
  else head.begin++;
  cap.freePorts--;
  const list = taken.get(best!);
  if (list) list.push(port);
  else taken.set(best!, [port]);
  return port;
}

/** Ports taken from one pool come lowest first, so they are already ascending. */
function toRanges(ports: readonly number[]): Range[] {
  const out: Range[] = [];
  for (const p of ports) {
    const last = out[out.length - 1];
    if (last && p === last.end + 1) last.end = p;
    else out.push({ begin: p, end: p });
  }
  return out;
}

/** Takes what one instance needs from `cap` (which must fit, see `lackOf`): its resources and ports. */
export function takeFrom(cap: Capacity, need: Need): { resources: Resource[]; ports: number[] } {
  const resources: Resource[] = [];
  for (const name of SCALAR_NAMES) {
    let want = need.milli[name];
    if (want <= 0) continue;
    cap.free[name] -= want;
    for (const pool of cap.scalars[name]) {
      if (want <= 0) break;
      const take = Math.min(pool.milli, want);
      if (take <= 0) continue;
      pool.milli -= take;
      want -= take;
      resources.push(withScalar(pool.proto, take));
    }
  }
  const ports: number[] = [];
  if (need.ports > 0) {
    const taken = new Map<PortPool, number[]>();
    for (let i = 0; i < need.ports; i++) ports.push(takePort(cap, taken));
    for (const [pool, list] of taken) resources.push({ ...pool.proto, ranges: { range: toRanges(list) } });
  }
  return { resources, ports };
}
