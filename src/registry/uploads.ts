/**
 * Blob uploads in progress. Each is a temporary file `uploads/<id>` that is hashed as it is written; the
 * closing PUT checks the digest, fsyncs and hands the file to the blob store, which renames it into the
 * content store. A chunk that fails half-way is cut off again, so the file always holds whole chunks, and
 * a digest mismatch removes the upload: nothing partial or wrong ever becomes a blob.
 */
import { createHash, randomUUID, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Clock } from '../core/clock.js';
import type { RegistryBlobs } from './blob-store.js';
import { BlobUploadUnknownError, DigestInvalidError, SizeInvalidError, UploadRangeError } from './errors.js';
import { errnoCode, fsyncFile } from '../core/fs.js';
import type { KeyedMutex } from './keyed-mutex.js';
import type { RegistryMetadata } from './metadata.js';
import type { ByteRange } from './ranges.js';

/** What a request brings to an upload: its body, the Content-Range and Content-Length it claims. */
export interface Chunk {
  body: Readable;
  range?: ByteRange;
  length?: number;
}

interface UploadState {
  size: number;
  /** The hash of the first `size` bytes; undefined after a restart (the file is hashed at the end). */
  hash: Hash | undefined;
}

export const uploadLocation = (repo: string, id: string): string => `/v2/${repo}/blobs/uploads/${id}`;

export class RegistryUploads {
  private readonly states = new Map<string, UploadState>();

  constructor(
    readonly dir: string,
    private readonly meta: RegistryMetadata,
    private readonly blobs: RegistryBlobs,
    private readonly locks: KeyedMutex,
    private readonly clock: Clock,
  ) {}

  static async open(
    dir: string,
    deps: { meta: RegistryMetadata; blobs: RegistryBlobs; locks: KeyedMutex; clock: Clock },
  ): Promise<RegistryUploads> {
    await mkdir(dir, { recursive: true });
    return new RegistryUploads(dir, deps.meta, deps.blobs, deps.locks, deps.clock);
  }

  private file(id: string): string {
    return join(this.dir, id);
  }

  /** Starts an upload: an empty file, then its record. */
  async start(repo: string): Promise<string> {
    const id = randomUUID();
    await writeFile(this.file(id), '', { flag: 'wx', mode: 0o600 });
    this.meta.applyUploadStarted(id, repo, this.clock.now());
    this.states.set(id, { size: 0, hash: createHash('sha256') });
    return id;
  }

  /** Bytes received so far; BLOB_UPLOAD_UNKNOWN when `repo` has no such upload. */
  async status(repo: string, id: string): Promise<number> {
    return (await this.load(repo, id)).size;
  }

  /** Appends a chunk (PATCH); returns the upload's new size. */
  async append(repo: string, id: string, chunk: Chunk): Promise<number> {
    return this.locks.run(`upload:${id}`, async () => {
      const state = await this.load(repo, id);
      await this.write(repo, id, state, chunk);
      this.meta.applyUploadTouched(id, this.clock.now());
      return state.size;
    });
  }

  /**
   * Closes an upload (PUT ?digest=), with an optional last chunk. The content must hash to `digest`;
   * otherwise the upload is removed and DIGEST_INVALID raised.
   */
  async finish(repo: string, id: string, digest: string, chunk?: Chunk): Promise<number> {
    return this.locks.run(`upload:${id}`, async () => {
      const state = await this.load(repo, id);
      if (chunk) await this.write(repo, id, state, chunk);
      const actual = state.hash ? `sha256:${state.hash.copy().digest('hex')}` : await hashFile(this.file(id));
      if (actual !== digest) {
        await this.remove(id);
        throw new DigestInvalidError(`the upload hashes to ${actual}, not ${digest}`, {
          expected: digest,
          actual,
        });
      }
      await fsyncFile(this.file(id));
      await this.blobs.adopt(repo, this.file(id), digest, state.size);
      this.meta.applyUploadEnded(id);
      this.states.delete(id);
      return state.size;
    });
  }

  /** Cancels an upload (DELETE). */
  async cancel(repo: string, id: string): Promise<void> {
    await this.locks.run(`upload:${id}`, async () => {
      await this.load(repo, id);
      await this.remove(id);
    });
  }

  /** Removes an upload's file, record and state (cancel, digest mismatch, garbage collection). */
  async remove(id: string): Promise<void> {
    this.meta.applyUploadEnded(id);
    this.states.delete(id);
    await rm(this.file(id), { force: true });
  }

  isBusy(id: string): boolean {
    return this.locks.isHeld(`upload:${id}`);
  }

  private async load(repo: string, id: string): Promise<UploadState> {
    const row = this.meta.getUpload(id);
    if (!row || row.repo !== repo) throw new BlobUploadUnknownError(id);
    let state = this.states.get(id);
    if (!state) {
      try {
        state = { size: (await stat(this.file(id))).size, hash: undefined };
      } catch (err) {
        if (errnoCode(err) === 'ENOENT') throw new BlobUploadUnknownError(id);
        throw err;
      }
      this.states.set(id, state);
    }
    return state;
  }

  private async write(repo: string, id: string, state: UploadState, chunk: Chunk): Promise<void> {
    const { range, length } = chunk;
    if (range && range.start !== state.size)
      throw new UploadRangeError(
        `chunk starts at byte ${range.start} but the upload has ${state.size} bytes: resume from there`,
        state.size,
        uploadLocation(repo, id),
      );
    const expected = range ? range.end - range.start + 1 : length;
    if (range && length !== undefined && length !== expected)
      throw new SizeInvalidError(
        `Content-Length ${length} does not match Content-Range ${range.start}-${range.end}`,
      );
    const hash = state.hash?.copy();
    let written = 0;
    const counter = new Transform({
      transform(data: Buffer, _encoding, callback) {
        written += data.length;
        hash?.update(data);
        callback(null, data);
      },
    });
    try {
      await pipeline(
        chunk.body,
        counter,
        createWriteStream(this.file(id), { flags: 'r+', start: state.size }),
      );
      if (expected !== undefined && written !== expected)
        throw new SizeInvalidError(`the chunk has ${written} bytes, ${expected} were announced`);
    } catch (err) {
      await truncate(this.file(id), state.size);
      throw err;
    }
    state.size += written;
    state.hash = hash;
  }
}

async function hashFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const data of createReadStream(path)) hash.update(data as Buffer);
  return `sha256:${hash.digest('hex')}`;
}
