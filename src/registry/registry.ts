/**
 * The registry's operations, apart from HTTP: manifests, tags, referrers, blobs, uploads and garbage
 * collection over one root directory:
 *
 *   <root>/blobs/sha256/<hex>  blob and manifest bytes (a ContentStore; an OCI layout's blob dir)
 *   <root>/ingest/             the content store's temporary files
 *   <root>/uploads/<id>        uploads in progress
 *   <root>/registry.db         metadata (SQLite): links, manifests, tags, uploads
 */
import { join } from 'node:path';
import { systemClock, type Clock } from '../core/clock.js';
import { ContentStore, sha256Digest } from '../image/index.js';
import { RegistryBlobs } from './blob-store.js';
import {
  DigestInvalidError,
  ManifestBlobUnknownError,
  ManifestUnknownError,
  NameUnknownError,
  PayloadTooLargeError,
} from './errors.js';
import { collectGarbage, type GcReport } from './gc.js';
import { KeyedMutex } from './keyed-mutex.js';
import { OCI_INDEX, parseManifest } from './manifest.js';
import { RegistryMetadata, type ManifestRow } from './metadata.js';
import { checkTag, parseManifestReference } from './names.js';
import { RegistryUploads } from './uploads.js';

export const DEFAULT_GC_GRACE_MS = 60 * 60 * 1000;
export const DEFAULT_MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

export interface RegistryOptions {
  /** The directory that holds everything (for `berth up`: `<data-dir>/registry`). */
  root: string;
  clock?: Clock;
  /** Unreferenced blobs, links and idle uploads younger than this survive garbage collection. */
  gcGraceMs?: number;
  maxManifestBytes?: number;
  /** Re-hash whole blobs as they are served (default false: they were verified when written). */
  verifyBlobReads?: boolean;
}

export interface StoredManifest {
  digest: string;
  mediaType: string;
  size: number;
}

export interface PutManifestResult extends StoredManifest {
  subject?: string;
  tags: string[];
}

export interface TagPage {
  name: string;
  tags: string[];
  /** Set when more tags follow: the `last` of the next page. */
  next?: string;
}

export interface ReferrersIndex {
  schemaVersion: 2;
  mediaType: string;
  manifests: Array<{
    mediaType: string;
    digest: string;
    size: number;
    artifactType?: string;
    annotations?: Record<string, string>;
  }>;
}

/** Manifests are immutable by digest and read often: their bytes stay in memory up to a total size. */
class ManifestCache {
  private readonly entries = new Map<string, Buffer>();
  private bytes = 0;

  constructor(private readonly limit: number) {}

  get(digest: string): Buffer | undefined {
    return this.entries.get(digest);
  }

  set(digest: string, value: Buffer): void {
    if (value.length > this.limit || this.entries.has(digest)) return;
    this.entries.set(digest, value);
    this.bytes += value.length;
    for (const [key, old] of this.entries) {
      if (this.bytes <= this.limit) break;
      this.entries.delete(key);
      this.bytes -= old.length;
    }
  }
}

export class Registry {
  readonly maxManifestBytes: number;
  private readonly cache = new ManifestCache(32 * 1024 * 1024);
  private gcRunning: Promise<void> = Promise.resolve();

  private constructor(
    readonly root: string,
    readonly meta: RegistryMetadata,
    readonly blobs: RegistryBlobs,
    readonly uploads: RegistryUploads,
    private readonly locks: KeyedMutex,
    private readonly clock: Clock,
    private readonly gcGraceMs: number,
    maxManifestBytes: number,
  ) {
    this.maxManifestBytes = maxManifestBytes;
  }

  static async open(options: RegistryOptions): Promise<Registry> {
    const clock = options.clock ?? systemClock;
    const content = await ContentStore.open(options.root);
    const meta = RegistryMetadata.open(join(options.root, 'registry.db'));
    const locks = new KeyedMutex();
    const blobs = new RegistryBlobs(content, meta, locks, clock, options.verifyBlobReads ?? false);
    const uploads = await RegistryUploads.open(join(options.root, 'uploads'), { meta, blobs, locks, clock });
    return new Registry(
      options.root,
      meta,
      blobs,
      uploads,
      locks,
      clock,
      options.gcGraceMs ?? DEFAULT_GC_GRACE_MS,
      options.maxManifestBytes ?? DEFAULT_MAX_MANIFEST_BYTES,
    );
  }

  close(): void {
    this.meta.close();
  }

  /** The manifest a tag or digest names in `repo`; MANIFEST_UNKNOWN when there is none. */
  resolveManifest(repo: string, reference: string): ManifestRow {
    const ref = parseManifestReference(reference);
    const digest = ref.kind === 'digest' ? ref.digest : this.meta.resolveTag(repo, ref.tag);
    const row = digest === undefined ? undefined : this.meta.getManifest(repo, digest);
    if (!row) throw new ManifestUnknownError(repo, reference);
    return row;
  }

  /** A manifest's bytes, exactly as pushed. */
  async getManifest(repo: string, reference: string): Promise<StoredManifest & { bytes: Buffer }> {
    const row = this.resolveManifest(repo, reference);
    let bytes = this.cache.get(row.digest);
    if (!bytes) {
      bytes = await this.blobs.content.read(row.digest);
      this.cache.set(row.digest, bytes);
    }
    return { digest: row.digest, mediaType: row.mediaType, size: row.size, bytes };
  }

  /**
   * Stores a manifest under a tag or its digest (plus `extraTags`, from `?tag=`). Its blobs and child
   * manifests must be in `repo`; its subject need not be.
   */
  async putManifest(
    repo: string,
    reference: string,
    bytes: Buffer,
    contentType: string | undefined,
    extraTags: readonly string[] = [],
  ): Promise<PutManifestResult> {
    if (bytes.length > this.maxManifestBytes)
      throw new PayloadTooLargeError('the manifest', this.maxManifestBytes);
    const ref = parseManifestReference(reference);
    const tags = [...(ref.kind === 'tag' ? [ref.tag] : []), ...extraTags.map(checkTag)];
    const digest = sha256Digest(bytes);
    if (ref.kind === 'digest' && ref.digest !== digest)
      throw new DigestInvalidError(`the manifest hashes to ${digest}, not ${ref.digest}`, {
        expected: ref.digest,
        actual: digest,
      });
    const parsed = parseManifest(bytes, contentType);
    const row = {
      repo,
      digest,
      mediaType: parsed.mediaType,
      size: bytes.length,
      ...(parsed.subject ? { subject: parsed.subject } : {}),
      ...(parsed.artifactType ? { artifactType: parsed.artifactType } : {}),
      ...(parsed.annotations ? { annotations: parsed.annotations } : {}),
    };
    const children = [...parsed.blobs, ...parsed.manifests].map((d) => d.digest);
    await this.blobs.putManifestBytes(bytes, digest, () =>
      this.meta.applyManifestPut({ ...row, children, tags, now: this.clock.now() }, () => {
        const missing = [
          ...this.meta.missingBlobs(
            repo,
            parsed.blobs.map((d) => d.digest),
          ),
          ...this.meta.missingManifests(
            repo,
            parsed.manifests.map((d) => d.digest),
          ),
        ];
        if (missing.length > 0) throw new ManifestBlobUnknownError(missing);
      }),
    );
    this.cache.set(digest, bytes);
    return {
      digest,
      mediaType: parsed.mediaType,
      size: bytes.length,
      tags,
      ...(parsed.subject ? { subject: parsed.subject } : {}),
    };
  }

  /** Deletes a manifest (by digest, with every tag on it) or just a tag. */
  deleteManifest(repo: string, reference: string): void {
    const ref = parseManifestReference(reference);
    const deleted =
      ref.kind === 'digest'
        ? this.meta.applyManifestDeleted(repo, ref.digest)
        : this.meta.applyTagDeleted(repo, ref.tag);
    if (!deleted) throw new ManifestUnknownError(repo, reference);
  }

  /** A page of tags; NAME_UNKNOWN when the repository holds nothing. */
  listTags(repo: string, options: { n?: number; last?: string } = {}): TagPage {
    if (!this.meta.repositoryExists(repo)) throw new NameUnknownError(repo);
    if (options.n === 0) return { name: repo, tags: [] };
    const limit = options.n ?? 10_000;
    const rows = this.meta.listTags(repo, options.last, limit + 1);
    const tags = rows.slice(0, limit);
    const more = rows.length > limit;
    return { name: repo, tags, ...(more ? { next: tags[tags.length - 1] } : {}) };
  }

  /** The referrers of `digest` in `repo` as an image index, filtered by artifactType when given. */
  referrers(repo: string, digest: string, artifactType?: string): ReferrersIndex {
    const rows = this.meta
      .referrers(repo, digest)
      .filter((r) => artifactType === undefined || r.artifactType === artifactType);
    return {
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: rows.map((r) => ({
        mediaType: r.mediaType,
        digest: r.digest,
        size: r.size,
        ...(r.artifactType ? { artifactType: r.artifactType } : {}),
        ...(r.annotations ? { annotations: r.annotations } : {}),
      })),
    };
  }

  /** Collects what no manifest references and is older than the grace window (see gc.ts). */
  async gc(options: { graceMs?: number } = {}): Promise<GcReport> {
    // One collection at a time: a second request waits for the one under way and then runs its own.
    const run = this.gcRunning.then(() => this.collect(options.graceMs ?? this.gcGraceMs));
    this.gcRunning = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private async collect(graceMs: number): Promise<GcReport> {
    return collectGarbage({
      meta: this.meta,
      content: this.blobs.content,
      uploads: this.uploads,
      locks: this.locks,
      now: this.clock.now(),
      graceMs,
    });
  }
}
