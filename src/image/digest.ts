import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

const SHA256_DIGEST = /^sha256:([a-f0-9]{64})$/;

/** The hex part of a "sha256:<hex>" digest, or undefined when the text is not one. */
export function digestHex(digest: string): string | undefined {
  return SHA256_DIGEST.exec(digest)?.[1];
}

export function isDigest(text: string): boolean {
  return SHA256_DIGEST.test(text);
}

export function sha256Digest(bytes: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/**
 * A pass-through stream that hashes (and counts) what flows through it. Read `digest()` and `size`
 * after the stream has finished. When `expected` is given, the stream fails at its end with
 * `onMismatch(actual)` if the content hashes differently.
 */
export class HashingStream extends Transform {
  size = 0;
  private readonly hash: Hash = createHash('sha256');
  private result: string | undefined;

  constructor(
    private readonly expected?: string,
    private readonly onMismatch?: (actual: string) => Error,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.size += chunk.length;
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    const actual = this.digest();
    if (this.expected !== undefined && actual !== this.expected) {
      callback(
        this.onMismatch?.(actual) ?? new Error(`content hashes to ${actual}, expected ${this.expected}`),
      );
      return;
    }
    callback();
  }

  /** The digest of everything seen; call it only once the stream has ended. */
  digest(): string {
    this.result ??= `sha256:${this.hash.digest('hex')}`;
    return this.result;
  }
}
