/**
 * Resources in Mesos's model: named scalars (cpus, mem, disk, gpus), ranges (ports) and sets, each with a
 * stack of reservations, optional disk info (persistent volumes) and optional allocation info (the role an
 * offered resource is allocated to). Scalars are kept in fixed point with three decimals (Mesos's rule):
 * every operation rounds to milli-units first and works on integers, so adding and subtracting never drift.
 *
 * Identity (what may merge): name, type, the whole reservation stack, disk info and allocation info.
 * A persistent volume is atomic: it never merges with anything, not even an identical volume, so a list
 * is a multiset of volumes. All functions are pure and return new arrays.
 *
 * Roles: `*` is unreserved. The flat `role` field still works: a resource with role "r" and no
 * `reservations` is statically reserved to r; with Mesos's pre-refinement `reservation` field it is
 * dynamically reserved. Outputs carry both `role` (the innermost reservation's role) and `reservations`.
 */
import { InvalidArgumentError } from './errors.js';

export interface Range {
  begin: number;
  end: number;
}

export interface Label {
  key: string;
  value?: string;
}

export interface Reservation {
  type: 'STATIC' | 'DYNAMIC';
  role: string;
  principal?: string;
  labels?: { labels: Label[] };
}

export interface DiskInfo {
  persistence?: { id: string; principal?: string };
  volume?: { container_path: string; mode: 'RW' | 'RO' };
}

export interface Resource {
  name: string;
  type: 'SCALAR' | 'RANGES' | 'SET';
  scalar?: { value: number };
  ranges?: { range: Range[] };
  set?: { item: string[] };
  /** The innermost reservation's role, `*` when unreserved (kept for frameworks that predate reservations). */
  role?: string;
  /** The reservation stack, outermost first; absent or empty = unreserved. */
  reservations?: Reservation[];
  /** Mesos's pre-refinement marker of a dynamic reservation to `role`. Read, never written. */
  reservation?: { principal?: string; labels?: { labels: Label[] } };
  disk?: DiskInfo;
  /** On offered and allocated resources: the role they are allocated to. */
  allocation_info?: { role: string };
}

const SCALE = 1000;
/** A scalar in milli-units; every arithmetic on scalars goes through this. */
export const toMilli = (v: number): number => Math.round(v * SCALE);
export const fromMilli = (v: number): number => v / SCALE;

export function scalar(name: string, value: number, role = '*'): Resource {
  return canonical({ name, type: 'SCALAR', scalar: { value }, role });
}

export function ranges(name: string, list: Range[], role = '*'): Resource {
  return canonical({ name, type: 'RANGES', ranges: { range: list }, role });
}

export function set(name: string, items: string[], role = '*'): Resource {
  return canonical({ name, type: 'SET', set: { item: items }, role });
}

// ---- identity --------------------------------------------------------------------------------------

/** The reservation stack of a resource, honouring the flat `role` and pre-refinement `reservation`. */
export function reservationsOf(r: Resource): Reservation[] {
  if (r.reservations && r.reservations.length > 0) return r.reservations;
  const role = r.role ?? '*';
  if (role === '*') return [];
  if (r.reservation) return [{ type: 'DYNAMIC', role, ...r.reservation }];
  return [{ type: 'STATIC', role }];
}

/** The role the resource is reserved to (innermost reservation), or `*`. */
export function reservedRole(r: Resource): string {
  const stack = r.reservations;
  if (stack && stack.length > 0) return stack[stack.length - 1]!.role;
  return r.role ?? '*';
}

export const isUnreserved = (r: Resource): boolean => reservedRole(r) === '*';
export const isPersistentVolume = (r: Resource): boolean => r.disk?.persistence !== undefined;

/** Only the fields that matter, with the reservation stack spelled out; values normalized. */
function canonical(r: Resource): Resource {
  const stack = reservationsOf(r);
  const out: Resource = { name: r.name, type: r.type };
  if (r.type === 'SCALAR') out.scalar = { value: fromMilli(toMilli(r.scalar?.value ?? 0)) };
  else if (r.type === 'RANGES') out.ranges = { range: normalizeRanges(r.ranges?.range ?? []) };
  else out.set = { item: [...new Set(r.set?.item ?? [])].sort() };
  out.role = stack.length > 0 ? stack[stack.length - 1]!.role : '*';
  if (stack.length > 0) out.reservations = stack.map((x) => ({ ...x }));
  if (r.disk && (r.disk.persistence || r.disk.volume)) out.disk = r.disk;
  if (r.allocation_info) out.allocation_info = { role: r.allocation_info.role };
  return out;
}

const labelsKey = (l: Reservation['labels']): string =>
  l && l.labels.length > 0 ? JSON.stringify(l.labels.map((x) => [x.key, x.value ?? null])) : '';

/** Equal keys = may merge. Persistent volumes get a key that also names their size (they never merge). */
export function resourceKey(r: Resource): string {
  let key = `${r.name}\u0000${r.type}`;
  const stack = reservationsOf(r);
  for (const x of stack) key += `\u0000${x.type}:${x.role}:${x.principal ?? ''}:${labelsKey(x.labels)}`;
  if (r.disk && (r.disk.persistence || r.disk.volume)) {
    const p = r.disk.persistence;
    const v = r.disk.volume;
    key += `\u0001${p?.id ?? ''}:${p?.principal ?? ''}:${v?.container_path ?? ''}:${v?.mode ?? ''}`;
    if (p) key += `\u0001${toMilli(r.scalar?.value ?? 0)}`;
  }
  if (r.allocation_info) key += `\u0002${r.allocation_info.role}`;
  return key;
}

// ---- ranges ----------------------------------------------------------------------------------------

function normalizeRanges(list: readonly Range[]): Range[] {
  const sorted = list.filter((r) => r.end >= r.begin).sort((a, b) => a.begin - b.begin);
  const out: Range[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.begin <= last.end + 1) last.end = Math.max(last.end, r.end);
    else out.push({ begin: r.begin, end: r.end });
  }
  return out;
}

/** `from - minus` for normalized lists, in one sweep. */
function subtractRanges(from: readonly Range[], minus: readonly Range[]): Range[] {
  const out: Range[] = [];
  let j = 0;
  for (const r of from) {
    let begin = r.begin;
    while (j < minus.length && minus[j]!.end < begin) j++;
    let k = j;
    while (k < minus.length && minus[k]!.begin <= r.end) {
      const m = minus[k]!;
      if (m.begin > begin) out.push({ begin, end: m.begin - 1 });
      begin = Math.max(begin, m.end + 1);
      k++;
    }
    if (begin <= r.end) out.push({ begin, end: r.end });
  }
  return out;
}

function rangesContain(outer: readonly Range[], inner: readonly Range[]): boolean {
  let i = 0;
  for (const need of inner) {
    while (i < outer.length && outer[i]!.end < need.begin) i++;
    const o = outer[i];
    if (!o || o.begin > need.begin || o.end < need.end) return false;
  }
  return true;
}

const rangesSize = (list: readonly Range[]): number => list.reduce((n, r) => n + r.end - r.begin + 1, 0);

// ---- the algebra -----------------------------------------------------------------------------------

/** One aggregated group: a scalar in milli-units, ranges, set items, or a count of identical volumes. */
interface Entry {
  proto: Resource;
  milli: number;
  ranges: Range[];
  items: Set<string>;
  count: number;
}

function entryOf(r: Resource): Entry {
  const proto = canonical(r);
  return {
    proto,
    milli: r.type === 'SCALAR' ? toMilli(r.scalar?.value ?? 0) : 0,
    ranges: proto.ranges?.range ?? [],
    items: new Set(proto.set?.item ?? []),
    count: 1,
  };
}

function collect(list: readonly Resource[]): Map<string, Entry> {
  const out = new Map<string, Entry>();
  for (const r of list) {
    const key = resourceKey(r);
    const prev = out.get(key);
    if (!prev) out.set(key, entryOf(r));
    else applyEntry(prev, entryOf(r), 1);
  }
  return out;
}

function applyEntry(into: Entry, e: Entry, sign: 1 | -1): void {
  if (isPersistentVolume(into.proto)) into.count = Math.max(0, into.count + sign * e.count);
  else if (into.proto.type === 'SCALAR') into.milli += sign * e.milli;
  else if (into.proto.type === 'RANGES')
    into.ranges =
      sign === 1 ? normalizeRanges([...into.ranges, ...e.ranges]) : subtractRanges(into.ranges, e.ranges);
  else if (sign === 1) for (const item of e.items) into.items.add(item);
  else for (const item of e.items) into.items.delete(item);
}

function entryEmpty(e: Entry): boolean {
  if (isPersistentVolume(e.proto)) return e.count <= 0;
  if (e.proto.type === 'SCALAR') return e.milli <= 0;
  if (e.proto.type === 'RANGES') return e.ranges.length === 0;
  return e.items.size === 0;
}

function emit(entries: Iterable<Entry>): Resource[] {
  const out: Resource[] = [];
  for (const e of entries) {
    if (entryEmpty(e)) continue;
    const r: Resource = { ...e.proto };
    if (r.type === 'SCALAR')
      r.scalar = { value: fromMilli(isPersistentVolume(r) ? toMilli(r.scalar!.value) : e.milli) };
    else if (r.type === 'RANGES') r.ranges = { range: e.ranges.map((x) => ({ ...x })) };
    else r.set = { item: [...e.items].sort() };
    for (let i = 0; i < (isPersistentVolume(r) ? e.count : 1); i++) out.push(i === 0 ? r : { ...r });
  }
  return out;
}

function combine(a: readonly Resource[], b: readonly Resource[], sign: 1 | -1): Resource[] {
  const acc = collect(a);
  for (const [key, e] of collect(b)) {
    const prev = acc.get(key);
    if (prev) applyEntry(prev, e, sign);
    else if (sign === 1) acc.set(key, e);
  }
  return emit(acc.values());
}

/** The canonical form: merged, empty resources dropped. */
export const normalizeResources = (list: readonly Resource[]): Resource[] => emit(collect(list).values());

export function addResources(a: readonly Resource[], b: readonly Resource[]): Resource[] {
  if (b.length === 0 && a.length === 0) return [];
  return combine(a, b, 1);
}

/** `a - b`, dropping what falls to zero or below. `(a - b) + b == a` exactly when `a` contains `b`. */
export function subtractResources(a: readonly Resource[], b: readonly Resource[]): Resource[] {
  return combine(a, b, -1);
}

export function containsResources(outer: readonly Resource[], inner: readonly Resource[]): boolean {
  const have = collect(outer);
  for (const [key, need] of collect(inner)) {
    if (entryEmpty(need)) continue;
    const got = have.get(key);
    if (!got) return false;
    if (isPersistentVolume(need.proto)) {
      if (got.count < need.count) return false;
    } else if (need.proto.type === 'SCALAR') {
      if (got.milli < need.milli) return false;
    } else if (need.proto.type === 'RANGES') {
      if (!rangesContain(got.ranges, need.ranges)) return false;
    } else for (const i of need.items) if (!got.items.has(i)) return false;
  }
  return true;
}

export const equalResources = (a: readonly Resource[], b: readonly Resource[]): boolean =>
  containsResources(a, b) && containsResources(b, a);

/** The sum of a scalar resource over all reservations, e.g. `scalarOf(resources, 'cpus')`. */
export function scalarOf(resources: readonly Resource[], name: string): number {
  let total = 0;
  for (const r of resources)
    if (r.name === name && r.type === 'SCALAR') total += toMilli(r.scalar?.value ?? 0);
  return fromMilli(total);
}

/** How many ports (or other range items) a list holds under `name`. */
export const rangeCountOf = (resources: readonly Resource[], name: string): number =>
  resources.reduce((n, r) => (r.name === name && r.ranges ? n + rangesSize(r.ranges.range) : n), 0);

// ---- roles, reservations, volumes, allocation ------------------------------------------------------

/** True when `role` is `parent` or nested below it (`a/b` is a subrole of `a`). */
export const isRoleOrSubrole = (role: string, parent: string): boolean =>
  role === parent || role.startsWith(`${parent}/`);

/** Whether `r` may be allocated to `role`: unreserved, or reserved to the role or one of its ancestors. */
export function isAllocatableTo(r: Resource, role: string): boolean {
  const reserved = reservedRole(r);
  return reserved === '*' || isRoleOrSubrole(role, reserved);
}

export const allocatableTo = (resources: readonly Resource[], role: string): Resource[] =>
  resources.filter((r) => isAllocatableTo(r, role));

/** Pushes a reservation onto each resource's stack. Validity (refinement, principal) is `applyOperation`'s. */
export function reserve(resources: readonly Resource[], reservation: Reservation | string): Resource[] {
  const add: Reservation =
    typeof reservation === 'string' ? { type: 'DYNAMIC', role: reservation } : reservation;
  return resources.map((r) => canonical({ ...r, reservations: [...reservationsOf(r), { ...add }] }));
}

/** Pops the innermost reservation of each resource. */
export function unreserve(resources: readonly Resource[]): Resource[] {
  return resources.map((r) => {
    const stack = reservationsOf(r).slice(0, -1);
    const role = stack.length > 0 ? stack[stack.length - 1]!.role : '*';
    return canonical({ ...r, reservation: undefined, reservations: stack, role });
  });
}

export interface VolumeSpec {
  id: string;
  containerPath: string;
  mode?: 'RW' | 'RO';
  principal?: string;
}

/** Turns (reserved) disk into a persistent volume. */
export function createVolume(disk: Resource, spec: VolumeSpec): Resource {
  const persistence = spec.principal ? { id: spec.id, principal: spec.principal } : { id: spec.id };
  return canonical({
    ...disk,
    disk: { persistence, volume: { container_path: spec.containerPath, mode: spec.mode ?? 'RW' } },
  });
}

/** The disk a volume was made of, back as plain (still reserved) disk. */
export function destroyVolume(volume: Resource): Resource {
  return canonical({ ...volume, disk: undefined });
}

/** Marks resources as allocated to `role` (Mesos's `allocation_info`), as offers carry them. */
export const allocateTo = (resources: readonly Resource[], role: string): Resource[] =>
  resources.map((r) => ({ ...r, allocation_info: { role } }));

/** Strips `allocation_info`. */
export const unallocate = (resources: readonly Resource[]): Resource[] =>
  resources.map((r) => {
    if (!r.allocation_info) return r;
    const out = { ...r };
    delete out.allocation_info;
    return out;
  });

// ---- text forms ------------------------------------------------------------------------------------

export interface Attribute {
  name: string;
  type: 'TEXT' | 'SCALAR';
  text?: { value: string };
  scalar?: { value: number };
}

const PART = /^([a-zA-Z_][\w.-]*)(?:\(([^)]*)\))?:(.+)$/;

function splitParts(text: string): string[] {
  return text
    .split(';')
    .map((p) => p.trim())
    .filter(Boolean);
}

function parseRangeList(value: string, part: string): Range[] {
  return value
    .slice(1, -1)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const [b, e] = s.split('-').map(Number);
      if (!Number.isInteger(b) || !Number.isInteger(e ?? b))
        throw new InvalidArgumentError(`bad range "${s}" in "${part}": use [BEGIN-END,...]`);
      return { begin: b!, end: e ?? b! };
    });
}

/**
 * Parses Mesos's text form: `cpus:4;mem:8192;ports:[31000-32000];zones:{a,b}`, where `name(role):value`
 * reserves statically to `role` (hierarchical roles such as `cpus(eng/ci):2` work). A JSON array of
 * resource objects is accepted too, as Mesos does.
 */
export function parseResources(text: string, role = '*'): Resource[] {
  const trimmed = text.trim();
  if (trimmed.startsWith('[')) {
    const list = JSON.parse(trimmed) as Resource[];
    if (!Array.isArray(list)) throw new InvalidArgumentError('resources in JSON must be an array');
    return normalizeResources(list);
  }
  const out: Resource[] = [];
  for (const part of splitParts(trimmed)) {
    const match = PART.exec(part);
    if (!match)
      throw new InvalidArgumentError(
        `bad resource "${part}": expected NAME:VALUE, e.g. cpus:2 or cpus(role):2`,
      );
    const [, name, partRole, value] = match as unknown as [string, string, string | undefined, string];
    const r = partRole?.trim() || role;
    if (value.startsWith('[')) out.push(ranges(name, parseRangeList(value, part), r));
    else if (value.startsWith('{')) {
      const items = value
        .slice(1, -1)
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      out.push(set(name, items, r));
    } else {
      const n = Number(value);
      if (!Number.isFinite(n) || n < 0)
        throw new InvalidArgumentError(`bad scalar "${value}" in "${part}": use a number, e.g. cpus:0.5`);
      out.push(scalar(name, n, r));
    }
  }
  return normalizeResources(out);
}

export function formatResources(resources: readonly Resource[]): string {
  return resources
    .map((r) => {
      const role = reservedRole(r);
      let name = role !== '*' ? `${r.name}(${role})` : r.name;
      const p = r.disk?.persistence;
      if (p) name += `[${p.id}:${r.disk?.volume?.container_path ?? ''}]`;
      if (r.type === 'SCALAR') return `${name}:${r.scalar?.value ?? 0}`;
      if (r.type === 'RANGES')
        return `${name}:[${(r.ranges?.range ?? []).map((x) => `${x.begin}-${x.end}`).join(',')}]`;
      return `${name}:{${(r.set?.item ?? []).join(',')}}`;
    })
    .join(';');
}

/**
 * Parses agent attributes in Mesos's text form, `rack:r1;zone:a;weight:3`: a value that is a number is a
 * SCALAR attribute, anything else TEXT (berth keeps Mesos's range and set attributes as TEXT).
 */
export function parseAttributes(text: string): Attribute[] {
  return splitParts(text).map((part) => {
    const colon = part.indexOf(':');
    const name = part.slice(0, colon).trim();
    const value = part.slice(colon + 1).trim();
    if (colon <= 0 || !/^[a-zA-Z_][\w.-]*$/.test(name) || value === '')
      throw new InvalidArgumentError(`bad attribute "${part}": expected NAME:VALUE, e.g. rack:r1`);
    const n = Number(value);
    return /^-?\d+(\.\d+)?$/.test(value) && Number.isFinite(n)
      ? { name, type: 'SCALAR', scalar: { value: n } }
      : { name, type: 'TEXT', text: { value } };
  });
}

// ---- checkpointed resources (Mesos's checkpointed resources) --------------------------------------------

/** Has a dynamic reservation or is a volume: what an operation made, and what the agent checkpoints. */
const isCheckpointed = (r: Resource): boolean =>
  isPersistentVolume(r) || reservationsOf(r).some((x) => x.type === 'DYNAMIC');

/** The part of an agent's total that operations made (dynamic reservations and volumes). */
export const checkpointedOf = (total: readonly Resource[]): Resource[] =>
  total.filter(isCheckpointed).map((r) => {
    const out = { ...r };
    delete out.allocation_info;
    return out;
  });

/** What `r` was before its volume and dynamic reservations: the agent's own (static) resources. */
function baseOf(r: Resource): Resource {
  let out = isPersistentVolume(r) ? destroyVolume(r) : r;
  while (reservationsOf(out).at(-1)?.type === 'DYNAMIC') out = unreserve([out])[0]!;
  return out;
}

/**
 * An agent's total from the resources it detects and the ones it checkpointed: each checkpointed
 * resource replaces what it was made from. One the agent no longer has (it shrank) is dropped.
 */
export function totalWithCheckpointed(
  base: readonly Resource[],
  checkpointed: readonly Resource[],
): Resource[] {
  let total: Resource[] = [...base];
  for (const r of checkpointed) {
    const from = [baseOf(r)];
    if (!containsResources(total, from)) continue;
    total = addResources(subtractResources(total, from), [r]);
  }
  return total;
}
