/**
 * Resources in Mesos's model: named scalars (cpus, mem, disk, gpus), ranges (ports) and sets, each with a
 * role. Scalars are kept in fixed point with three decimals (Mesos's rule), so adding and subtracting
 * never drift. All functions are pure and return new arrays.
 */
export interface Range {
  begin: number;
  end: number;
}

export interface Resource {
  name: string;
  type: 'SCALAR' | 'RANGES' | 'SET';
  scalar?: { value: number };
  ranges?: { range: Range[] };
  set?: { item: string[] };
  role?: string;
}

const SCALE = 1000;
const toFixed = (v: number): number => Math.round(v * SCALE);
const fromFixed = (v: number): number => v / SCALE;

export function scalar(name: string, value: number, role = '*'): Resource {
  return { name, type: 'SCALAR', scalar: { value: fromFixed(toFixed(value)) }, role };
}

export function ranges(name: string, list: Range[], role = '*'): Resource {
  return { name, type: 'RANGES', ranges: { range: normalizeRanges(list) }, role };
}

const keyOf = (r: Resource): string => `${r.name}\u0000${r.type}\u0000${r.role ?? '*'}`;

function normalizeRanges(list: readonly Range[]): Range[] {
  const sorted = [...list].filter((r) => r.end >= r.begin).sort((a, b) => a.begin - b.begin);
  const out: Range[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.begin <= last.end + 1) last.end = Math.max(last.end, r.end);
    else out.push({ begin: r.begin, end: r.end });
  }
  return out;
}

function subtractRanges(from: readonly Range[], minus: readonly Range[]): Range[] {
  let out = normalizeRanges(from);
  for (const m of minus) {
    const next: Range[] = [];
    for (const r of out) {
      if (m.end < r.begin || m.begin > r.end) next.push(r);
      else {
        if (r.begin < m.begin) next.push({ begin: r.begin, end: m.begin - 1 });
        if (r.end > m.end) next.push({ begin: m.end + 1, end: r.end });
      }
    }
    out = next;
  }
  return out;
}

function rangesContain(outer: readonly Range[], inner: readonly Range[]): boolean {
  return inner.every((i) => outer.some((o) => o.begin <= i.begin && i.end <= o.end));
}

function isEmpty(r: Resource): boolean {
  if (r.type === 'SCALAR') return toFixed(r.scalar?.value ?? 0) <= 0;
  if (r.type === 'RANGES') return (r.ranges?.range.length ?? 0) === 0;
  return (r.set?.item.length ?? 0) === 0;
}

function combine(a: Resource, b: Resource, sign: 1 | -1): Resource {
  if (a.type === 'SCALAR') {
    const value = toFixed(a.scalar?.value ?? 0) + sign * toFixed(b.scalar?.value ?? 0);
    return { ...a, scalar: { value: fromFixed(value) } };
  }
  if (a.type === 'RANGES') {
    const list =
      sign === 1
        ? normalizeRanges([...(a.ranges?.range ?? []), ...(b.ranges?.range ?? [])])
        : subtractRanges(a.ranges?.range ?? [], b.ranges?.range ?? []);
    return { ...a, ranges: { range: list } };
  }
  const items = new Set(a.set?.item ?? []);
  for (const item of b.set?.item ?? []) {
    if (sign === 1) items.add(item);
    else items.delete(item);
  }
  return { ...a, set: { item: [...items].sort() } };
}

function merge(a: readonly Resource[], b: readonly Resource[], sign: 1 | -1): Resource[] {
  const byKey = new Map<string, Resource>();
  for (const r of a) {
    const k = keyOf(r);
    const prev = byKey.get(k);
    byKey.set(k, prev ? combine(prev, r, 1) : { ...r });
  }
  for (const r of b) {
    const k = keyOf(r);
    const prev = byKey.get(k) ?? { ...r, scalar: { value: 0 }, ranges: { range: [] }, set: { item: [] } };
    byKey.set(k, combine(stripOtherKinds(prev), r, sign));
  }
  return [...byKey.values()].filter((r) => !isEmpty(r)).map(stripOtherKinds);
}

function stripOtherKinds(r: Resource): Resource {
  const { scalar: s, ranges: rg, set, ...rest } = r;
  if (r.type === 'SCALAR') return { ...rest, scalar: s ?? { value: 0 } };
  if (r.type === 'RANGES') return { ...rest, ranges: rg ?? { range: [] } };
  return { ...rest, set: set ?? { item: [] } };
}

export function addResources(a: readonly Resource[], b: readonly Resource[]): Resource[] {
  return merge(a, b, 1);
}

/** `a - b`. Callers check `containsResources(a, b)` first when they need exactness. */
export function subtractResources(a: readonly Resource[], b: readonly Resource[]): Resource[] {
  return merge(a, b, -1);
}

export function containsResources(outer: readonly Resource[], inner: readonly Resource[]): boolean {
  const have = new Map(addResources(outer, []).map((r) => [keyOf(r), r]));
  for (const need of addResources(inner, [])) {
    const got = have.get(keyOf(need));
    if (!got) return false;
    if (need.type === 'SCALAR' && toFixed(got.scalar?.value ?? 0) < toFixed(need.scalar?.value ?? 0))
      return false;
    if (need.type === 'RANGES' && !rangesContain(got.ranges?.range ?? [], need.ranges?.range ?? []))
      return false;
    if (need.type === 'SET' && !(need.set?.item ?? []).every((i) => got.set?.item.includes(i))) return false;
  }
  return true;
}

/** The sum of a scalar resource over all roles, e.g. `scalarOf(resources, 'cpus')`. */
export function scalarOf(resources: readonly Resource[], name: string): number {
  let total = 0;
  for (const r of resources)
    if (r.name === name && r.type === 'SCALAR') total += toFixed(r.scalar?.value ?? 0);
  return fromFixed(total);
}

/** Parses Mesos's text form: `cpus:4;mem:8192;ports:[31000-32000];zones:{a,b}`. */
export function parseResources(text: string, role = '*'): Resource[] {
  const out: Resource[] = [];
  for (const part of text
    .split(';')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const match = /^([a-zA-Z_][\w.-]*)(?:\(([^)]*)\))?:(.+)$/.exec(part);
    if (!match) throw new Error(`bad resource "${part}": expected NAME:VALUE, e.g. cpus:2`);
    const [, name, partRole, value] = match as unknown as [string, string, string | undefined, string];
    const r = partRole ?? role;
    if (value.startsWith('[')) {
      const list = value
        .slice(1, -1)
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
        .map((s) => {
          const [b, e] = s.split('-').map(Number);
          if (!Number.isInteger(b) || !Number.isInteger(e ?? b))
            throw new Error(`bad range "${s}" in "${part}"`);
          return { begin: b!, end: e ?? b! };
        });
      out.push(ranges(name, list, r));
    } else if (value.startsWith('{')) {
      out.push({
        name,
        type: 'SET',
        set: {
          item: value
            .slice(1, -1)
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
            .sort(),
        },
        role: r,
      });
    } else {
      const n = Number(value);
      if (!Number.isFinite(n) || n < 0) throw new Error(`bad scalar "${value}" in "${part}"`);
      out.push(scalar(name, n, r));
    }
  }
  return addResources(out, []);
}

export function formatResources(resources: readonly Resource[]): string {
  return resources
    .map((r) => {
      const name = r.role && r.role !== '*' ? `${r.name}(${r.role})` : r.name;
      if (r.type === 'SCALAR') return `${name}:${r.scalar?.value ?? 0}`;
      if (r.type === 'RANGES')
        return `${name}:[${(r.ranges?.range ?? []).map((x) => `${x.begin}-${x.end}`).join(',')}]`;
      return `${name}:{${(r.set?.item ?? []).join(',')}}`;
    })
    .join(';');
}
