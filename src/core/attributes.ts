import { InvalidArgumentError } from './errors.js';

export interface Attribute {
  name: string;
  type: 'TEXT' | 'SCALAR';
  text?: { value: string };
  scalar?: { value: number };
}

/** Mesos's attribute text form: `rack:r1;zone:a;generation:3` — numbers are scalars, the rest text. */
export function parseAttributes(spec: string): Attribute[] {
  const out: Attribute[] = [];
  for (const part of spec
    .split(';')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const colon = part.indexOf(':');
    const name = part.slice(0, colon).trim();
    const value = part.slice(colon + 1).trim();
    if (colon <= 0 || !value)
      throw new InvalidArgumentError(`bad attribute "${part}": use NAME:VALUE, e.g. rack:r1`);
    const n = Number(value);
    out.push(
      Number.isFinite(n) && /^-?\d+(\.\d+)?$/.test(value)
        ? { name, type: 'SCALAR', scalar: { value: n } }
        : { name, type: 'TEXT', text: { value } },
    );
  }
  return out;
}

export function formatAttributes(attributes: readonly Attribute[]): string {
  return attributes
    .map((a) => `${a.name}:${a.type === 'SCALAR' ? a.scalar?.value : a.text?.value}`)
    .join(';');
}
