import { InvalidKeyError } from './errors.js';

const LONE_SURROGATE = /\p{Cs}/u;

/** A key is a non-empty, well-formed string without NUL (well-formed: it survives UTF-8 unchanged). */
export function checkKey(key: unknown): asserts key is string {
  if (typeof key !== 'string') throw new InvalidKeyError(key, 'a key must be a string');
  if (key.length === 0) throw new InvalidKeyError(key, 'a key must not be empty');
  checkText(key);
}

/** A prefix follows the key rules, except that "" (everything) is allowed. */
export function checkPrefix(prefix: unknown): asserts prefix is string {
  if (typeof prefix !== 'string') throw new InvalidKeyError(prefix, 'a prefix must be a string');
  checkText(prefix);
}

function checkText(text: string): void {
  if (text.includes('\0')) throw new InvalidKeyError(text, 'it contains a NUL character');
  if (LONE_SURROGATE.test(text)) throw new InvalidKeyError(text, 'it contains an unpaired surrogate');
}

/**
 * Orders keys by code point, which equals UTF-8 byte order. Plain `<` compares UTF-16 code units and
 * puts astral characters (surrogate pairs) before U+E000..U+FFFF; this fixes up the first difference.
 */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

function codePointRank(unit: number): number {
  if (unit < 0xd800) return unit;
  return unit >= 0xe000 ? unit - 0x800 : unit + 0x2000;
}

/**
 * The smallest string greater than every string that starts with `prefix` (exclusive upper bound of a
 * range scan), or undefined when there is none ("" or only U+10FFFF). Increments the last code point,
 * skipping the surrogate block.
 */
export function prefixEnd(prefix: string): string | undefined {
  const points = Array.from(prefix);
  while (points.length > 0) {
    const last = points.pop() as string;
    const cp = last.codePointAt(0) as number;
    if (cp < 0x10ffff) return points.join('') + String.fromCodePoint(cp + 1 === 0xd800 ? 0xe000 : cp + 1);
  }
  return undefined;
}
