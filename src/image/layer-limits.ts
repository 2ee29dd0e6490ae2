/**
 * Limits on how much a layer may expand: a size limit on the uncompressed tar, and a ratio limit
 * (uncompressed / compressed) once the tar is past a floor, so that a small gzip "bomb" cannot fill
 * the disk. Defaults are far above real layers; callers may lower them (tests, untrusted sources).
 */
import { Transform, type TransformCallback } from 'node:stream';
import { BadLayerError } from './errors.js';

export interface LayerLimits {
  /** Largest uncompressed tar, in bytes (default 64 GiB). */
  maxBytes?: number;
  /** Largest uncompressed/compressed ratio (default 250), checked past `ratioFloorBytes`. */
  maxRatio?: number;
  /** Uncompressed size below which the ratio is not checked (default 256 MiB). */
  ratioFloorBytes?: number;
}

export const DEFAULT_LAYER_LIMITS: Required<LayerLimits> = {
  maxBytes: 64 * 1024 ** 3,
  maxRatio: 250,
  ratioFloorBytes: 256 * 1024 ** 2,
};

/** Why a layer that has expanded to `uncompressed` from `compressed` bytes must stop, if it must. Pure. */
export function evaluateExpansion(
  uncompressed: number,
  compressed: number | undefined,
  limits: Required<LayerLimits>,
): string | undefined {
  if (uncompressed > limits.maxBytes)
    return `the layer expands to more than ${limits.maxBytes} bytes, the limit for one layer`;
  if (compressed === undefined || uncompressed <= limits.ratioFloorBytes) return undefined;
  if (uncompressed > limits.maxRatio * Math.max(compressed, 1))
    return `the layer expands more than ${limits.maxRatio} times its compressed size (a decompression bomb?)`;
  return undefined;
}

/** Counts bytes flowing through (the compressed side). */
export class ByteCounter extends Transform {
  bytes = 0;
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    callback(null, chunk);
  }
}

/** Fails the stream with ERR_BAD_LAYER as soon as the uncompressed side passes a limit. */
export class ExpansionGuard extends Transform {
  private bytes = 0;
  private readonly limits: Required<LayerLimits>;

  constructor(
    limits: LayerLimits,
    private readonly compressed?: ByteCounter,
  ) {
    super();
    this.limits = { ...DEFAULT_LAYER_LIMITS, ...stripUndefined(limits) };
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    const problem = evaluateExpansion(this.bytes, this.compressed?.bytes, this.limits);
    callback(problem ? new BadLayerError(problem) : null, problem ? undefined : chunk);
  }
}

function stripUndefined(limits: LayerLimits): LayerLimits {
  return Object.fromEntries(Object.entries(limits).filter(([, v]) => v !== undefined));
}
