/** Pure parsing of the byte ranges a registry sees: upload `Content-Range` and blob `Range` headers. */

export interface ByteRange {
  /** First byte, inclusive. */
  start: number;
  /** Last byte, inclusive. */
  end: number;
}

/**
 * The `Content-Range` of an upload chunk: `<start>-<end>` as the spec writes it, or the RFC 9110 form
 * `bytes <start>-<end>/<size|*>` that some clients send. Undefined when it is neither.
 */
export function parseContentRange(header: string): ByteRange | undefined {
  const match = /^(?:bytes[ =])?(\d+)-(\d+)(?:\/(?:\d+|\*))?$/.exec(header.trim());
  if (!match) return undefined;
  const start = Number(match[1]);
  const end = Number(match[2]);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || end < start) return undefined;
  return { start, end };
}

export type RangeRequest =
  { kind: 'full' } | { kind: 'partial'; range: ByteRange } | { kind: 'unsatisfiable' };

/**
 * A GET `Range` header against a blob of `size` bytes (RFC 9110 section 14). One range is served;
 * several ranges, or a header that does not parse, get the whole blob (the RFC allows ignoring Range).
 */
export function evaluateRange(header: string | undefined, size: number): RangeRequest {
  if (header === undefined) return { kind: 'full' };
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) return { kind: 'full' };
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', range: { start: Math.max(0, size - suffix), end: size - 1 } };
  }
  const start = Number(match[1]);
  const end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  if (match[2] !== '' && Number(match[2]) < start) return { kind: 'full' };
  if (start >= size) return { kind: 'unsatisfiable' };
  return { kind: 'partial', range: { start, end } };
}

/** The `Range` header of an upload that holds `size` bytes (Distribution writes `0-0` when empty). */
export function formatUploadRange(size: number): string {
  return `0-${Math.max(0, size - 1)}`;
}
