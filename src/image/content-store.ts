import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { InvalidArgumentError } from '../core/errors.js';
import { digestHex, HashingStream, sha256Digest } from './digest.js';
import { BlobCorruptError, BlobNotFoundError } from './errors.js';
import { errnoCode, fsyncDir, fsyncFile, randomName } from '../core/fs.js';

export interface BlobInfo {
  digest: string;
  size: number;
}

/**
 * Blobs by digest, in the `blobs/sha256/<hex>` layout of an OCI image layout. Writes are atomic (a
 * file under `ingest/` is hashed while written, fsynced, then renamed into place) and every read
 * re-hashes the content, so a damaged blob is reported as ERR_BLOB_CORRUPT instead of being used.
 */
export class ContentStore {
  private constructor(readonly root: string) {}

  /** Opens the store rooted at `root`, creating its directories when missing. */
  static async open(root: string): Promise<ContentStore> {
    await mkdir(join(root, 'blobs', 'sha256'), { recursive: true });
    await mkdir(join(root, 'ingest'), { recursive: true });
    return new ContentStore(root);
  }

  /** The file of a blob (which may not exist). */
  path(digest: string): string {
    const hex = digestHex(digest);
    if (hex === undefined) throw new InvalidArgumentError(`"${digest}" is not a sha256 digest`);
    return join(this.root, 'blobs', 'sha256', hex);
  }

  async has(digest: string): Promise<boolean> {
    try {
      return (await stat(this.path(digest))).isFile();
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return false;
      throw err;
    }
  }

  async size(digest: string): Promise<number> {
    try {
      return (await stat(this.path(digest))).size;
    } catch (err) {
      throw notFoundOr(err, digest);
    }
  }

  /**
   * Stores a stream. With `expectedDigest`, content that hashes differently is discarded and
   * reported as ERR_BLOB_CORRUPT; a blob that is already present is not written again.
   */
  async ingest(source: Readable | AsyncIterable<Uint8Array>, expectedDigest?: string): Promise<BlobInfo> {
    if (expectedDigest !== undefined && (await this.has(expectedDigest))) {
      if (source instanceof Readable) source.destroy();
      return { digest: expectedDigest, size: await this.size(expectedDigest) };
    }
    const tmp = join(this.root, 'ingest', randomName());
    try {
      const hasher = new HashingStream();
      await pipeline(source, hasher, createWriteStream(tmp, { flags: 'wx', mode: 0o644 }));
      await fsyncFile(tmp);
      const digest = hasher.digest();
      if (expectedDigest !== undefined && digest !== expectedDigest)
        throw new BlobCorruptError(expectedDigest, digest);
      await rename(tmp, this.path(digest));
      await fsyncDir(join(this.root, 'blobs', 'sha256'));
      return { digest, size: hasher.size };
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  async putBytes(bytes: Uint8Array, expectedDigest?: string): Promise<BlobInfo> {
    return this.ingest(Readable.from([Buffer.from(bytes)]), expectedDigest);
  }

  /** Stores `JSON.stringify(value)`; returns the bytes too, since a manifest's size is theirs. */
  async putJSON(value: unknown): Promise<BlobInfo & { bytes: Buffer }> {
    const bytes = Buffer.from(JSON.stringify(value), 'utf8');
    return { ...(await this.putBytes(bytes)), bytes };
  }

  /** The whole blob, verified against its digest. For small blobs (manifests, configs). */
  async read(digest: string): Promise<Buffer> {
    let bytes: Buffer;
    try {
      bytes = await readFile(this.path(digest));
    } catch (err) {
      throw notFoundOr(err, digest);
    }
    const actual = sha256Digest(bytes);
    if (actual !== digest) throw new BlobCorruptError(digest, actual);
    return bytes;
  }

  async readJSON<T>(digest: string): Promise<T> {
    return JSON.parse((await this.read(digest)).toString('utf8')) as T;
  }

  /**
   * A stream of the blob that fails with ERR_BLOB_CORRUPT at its end when the content does not hash
   * to the digest (so a consumer must treat what it wrote as provisional until the stream ends), and
   * with ERR_BLOB_NOT_FOUND when the blob is missing.
   */
  createReadStream(digest: string): Readable {
    const hasher = new HashingStream(digest, (actual) => new BlobCorruptError(digest, actual));
    const file = createReadStream(this.path(digest));
    file.on('error', (err) => hasher.destroy(notFoundOr(err, digest)));
    hasher.on('close', () => file.destroy());
    file.pipe(hasher);
    return hasher;
  }
}

function notFoundOr<E>(err: E, digest: string): E | BlobNotFoundError {
  return errnoCode(err) === 'ENOENT' ? new BlobNotFoundError(digest, { cause: err }) : err;
}
