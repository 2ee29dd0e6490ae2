/**
 * Blobs as a repository sees them: bytes in the ContentStore (`blobs/sha256/<hex>`, shared by every
 * repository), visibility through the metadata's links. Every change of a digest's file happens under
 * that digest's lock, which garbage collection takes too.
 */
import { createReadStream } from 'node:fs';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Readable } from 'node:stream';
import type { Clock } from '../core/clock.js';
import type { ContentStore } from '../image/index.js';
import { fsyncDir } from '../core/fs.js';
import { BlobUnknownError } from './errors.js';
import type { KeyedMutex } from './keyed-mutex.js';
import type { RegistryMetadata } from './metadata.js';
import type { ByteRange } from './ranges.js';

const READ_CHUNK = 1024 * 1024;

export interface BlobStat {
  digest: string;
  size: number;
}

export class RegistryBlobs {
  constructor(
    readonly content: ContentStore,
    private readonly meta: RegistryMetadata,
    private readonly locks: KeyedMutex,
    private readonly clock: Clock,
    private readonly verifyReads = false,
  ) {}

  /** The blob's size when `repo` may see it; BLOB_UNKNOWN otherwise (or when its file is gone). */
  async stat(repo: string, digest: string): Promise<BlobStat> {
    if (this.meta.blobSize(repo, digest) === undefined) throw new BlobUnknownError(digest);
    try {
      return { digest, size: await this.content.size(digest) };
    } catch (err) {
      throw Object.assign(new BlobUnknownError(digest), { cause: err });
    }
  }

  /**
   * The blob's bytes. With `verifyReads`, a whole blob is re-hashed as it is read (a damaged file aborts
   * the response at its end). Without (the default), bytes are served as stored: they were verified when
   * written, and clients verify what they pull against the digest they asked for.
   */
  open(digest: string, range?: ByteRange): Readable {
    if (this.verifyReads && !range) return this.content.createReadStream(digest);
    return createReadStream(this.content.path(digest), { ...range, highWaterMark: READ_CHUNK });
  }

  /**
   * The blob's file, open (a garbage collection that removes it now cannot cut the response short), for
   * serving without a read stream; undefined when reads are verified, which needs `open`'s hashing stream.
   */
  async openFile(digest: string): Promise<FileHandle | undefined> {
    if (this.verifyReads) return undefined;
    try {
      return await open(this.content.path(digest));
    } catch (err) {
      throw Object.assign(new BlobUnknownError(digest), { cause: err });
    }
  }

  /**
   * Makes a verified, fsynced file the blob `digest` and links it into `repo`: renamed into the content
   * store (same file system), or dropped when the store has the blob already.
   */
  async adopt(repo: string, file: string, digest: string, size: number): Promise<void> {
    await this.locks.run(digest, async () => {
      if (await this.content.has(digest)) {
        await rm(file, { force: true });
      } else {
        const target = this.content.path(digest);
        await rename(file, target);
        await fsyncDir(dirname(target));
      }
      this.meta.applyBlobLinked(repo, digest, size, this.clock.now());
    });
  }

  /** Links a blob another repository holds; false when `from` has no such blob (or its file is gone). */
  async mount(repo: string, from: string, digest: string): Promise<boolean> {
    return this.locks.run(digest, async () => {
      if (!(await this.content.has(digest))) return false;
      return this.meta.applyMount(repo, from, digest, this.clock.now()) !== undefined;
    });
  }

  /** Unlinks a blob from a repository; its bytes go at the next garbage collection nobody else needs them. */
  delete(repo: string, digest: string): void {
    if (!this.meta.applyBlobUnlinked(repo, digest)) throw new BlobUnknownError(digest);
  }

  /** Stores manifest bytes (already hashed to `digest`) and runs `record` under the digest's lock. */
  async putManifestBytes(bytes: Buffer, digest: string, record: () => void): Promise<void> {
    await this.locks.run(digest, async () => {
      await this.content.putBytes(bytes, digest);
      record();
    });
  }
}
