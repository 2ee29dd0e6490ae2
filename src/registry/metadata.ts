/**
 * The registry's metadata in one SQLite database (`registry.db`): which blobs exist, which are linked
 * into which repository, manifests with what they reference, tags, and uploads in progress. Blob and
 * manifest bytes live in the ContentStore; this only says who may see them. Every change that must be
 * all-or-nothing is one transaction, so a crash leaves either the old or the new state.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Database as Db, Statement } from 'better-sqlite3';

/** MIGRATIONS[v] takes the schema from version v to v + 1. Append; never edit a shipped entry. */
const MIGRATIONS: ReadonlyArray<string> = [
  `CREATE TABLE blobs (digest TEXT PRIMARY KEY, size INTEGER NOT NULL, touched_at INTEGER NOT NULL) WITHOUT ROWID;
   CREATE TABLE links (repo TEXT NOT NULL, digest TEXT NOT NULL, linked_at INTEGER NOT NULL,
     PRIMARY KEY (repo, digest)) WITHOUT ROWID;
   CREATE INDEX links_by_digest ON links (digest);
   CREATE TABLE manifests (repo TEXT NOT NULL, digest TEXT NOT NULL, media_type TEXT NOT NULL,
     size INTEGER NOT NULL, subject TEXT, artifact_type TEXT, annotations TEXT, created_at INTEGER NOT NULL,
     PRIMARY KEY (repo, digest)) WITHOUT ROWID;
   CREATE INDEX manifests_by_subject ON manifests (repo, subject) WHERE subject IS NOT NULL;
   CREATE INDEX manifests_by_digest ON manifests (digest);
   CREATE TABLE manifest_refs (repo TEXT NOT NULL, manifest TEXT NOT NULL, child TEXT NOT NULL,
     PRIMARY KEY (repo, manifest, child)) WITHOUT ROWID;
   CREATE INDEX manifest_refs_by_child ON manifest_refs (repo, child);
   CREATE TABLE tags (repo TEXT NOT NULL, tag TEXT NOT NULL, digest TEXT NOT NULL, updated_at INTEGER NOT NULL,
     PRIMARY KEY (repo, tag)) WITHOUT ROWID;
   CREATE TABLE uploads (id TEXT PRIMARY KEY, repo TEXT NOT NULL, started_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL) WITHOUT ROWID;`,
];

export interface ManifestRow {
  repo: string;
  digest: string;
  mediaType: string;
  size: number;
  subject?: string;
  artifactType?: string;
  annotations?: Record<string, string>;
}

export interface NewManifest extends ManifestRow {
  /** Digests of blobs and child manifests it references. */
  children: string[];
  tags: string[];
  now: number;
}

export interface UploadRow {
  id: string;
  repo: string;
  startedAt: number;
  updatedAt: number;
}

/** Everything garbage collection decides on, read in one transaction. */
export interface MetadataSnapshot {
  blobs: ReadonlyArray<{ digest: string; touchedAt: number }>;
  links: ReadonlyArray<{ repo: string; digest: string; linkedAt: number }>;
  manifests: ReadonlyArray<{ repo: string; digest: string }>;
  refs: ReadonlyArray<{ repo: string; child: string }>;
  uploads: ReadonlyArray<{ id: string; updatedAt: number }>;
}

type Row = Record<string, unknown>;

function toManifest(row: Row): ManifestRow {
  return {
    repo: row.repo as string,
    digest: row.digest as string,
    mediaType: row.media_type as string,
    size: row.size as number,
    ...(row.subject ? { subject: row.subject as string } : {}),
    ...(row.artifact_type ? { artifactType: row.artifact_type as string } : {}),
    ...(row.annotations
      ? { annotations: JSON.parse(row.annotations as string) as Record<string, string> }
      : {}),
  };
}

export class RegistryMetadata {
  private readonly statements = new Map<string, Statement>();

  private constructor(private readonly db: Db) {}

  /** A prepared statement, compiled once per SQL text. */
  private stmt(sql: string): Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  static open(path: string): RegistryMetadata {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const db = new Database(path);
    try {
      db.pragma('busy_timeout = 5000');
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.transaction(() => {
        const version = db.pragma('user_version', { simple: true }) as number;
        for (let v = version; v < MIGRATIONS.length; v++) db.exec(MIGRATIONS[v]!);
        db.pragma(`user_version = ${MIGRATIONS.length}`);
      })();
    } catch (err) {
      db.close();
      throw err;
    }
    return new RegistryMetadata(db);
  }

  close(): void {
    this.db.close();
  }

  // Blobs and links.

  hasBlob(digest: string): boolean {
    return this.stmt('SELECT 1 FROM blobs WHERE digest = ?').get(digest) !== undefined;
  }

  blobSize(repo: string, digest: string): number | undefined {
    const row = this.stmt(
      'SELECT b.size AS size FROM links l JOIN blobs b ON b.digest = l.digest WHERE l.repo = ? AND l.digest = ?',
    ).get(repo, digest) as { size: number } | undefined;
    return row?.size;
  }

  /** Records a blob (or refreshes its time) and links it into `repo`, in one transaction. */
  applyBlobLinked(repo: string, digest: string, size: number, now: number): void {
    this.db.transaction(() => {
      this.stmt(
        'INSERT INTO blobs (digest, size, touched_at) VALUES (?, ?, ?) ON CONFLICT (digest) DO UPDATE SET touched_at = excluded.touched_at',
      ).run(digest, size, now);
      this.stmt(
        'INSERT INTO links (repo, digest, linked_at) VALUES (?, ?, ?) ON CONFLICT (repo, digest) DO UPDATE SET linked_at = excluded.linked_at',
      ).run(repo, digest, now);
    })();
  }

  /** Links a blob that another repository holds; false when `from` does not have it. */
  applyMount(repo: string, from: string, digest: string, now: number): number | undefined {
    return this.db.transaction(() => {
      const size = this.blobSize(from, digest);
      if (size === undefined) return undefined;
      this.applyBlobLinked(repo, digest, size, now);
      return size;
    })();
  }

  /** Removes a blob's link from a repository; false when it had none. */
  applyBlobUnlinked(repo: string, digest: string): boolean {
    return this.stmt('DELETE FROM links WHERE repo = ? AND digest = ?').run(repo, digest).changes > 0;
  }

  /** Which of `digests` are not linked into `repo`. */
  missingBlobs(repo: string, digests: readonly string[]): string[] {
    const stmt = this.stmt('SELECT 1 FROM links WHERE repo = ? AND digest = ?');
    return digests.filter((d) => stmt.get(repo, d) === undefined);
  }

  /** Which of `digests` are not manifests of `repo`. */
  missingManifests(repo: string, digests: readonly string[]): string[] {
    const stmt = this.stmt('SELECT 1 FROM manifests WHERE repo = ? AND digest = ?');
    return digests.filter((d) => stmt.get(repo, d) === undefined);
  }

  // Manifests and tags.

  /**
   * Stores a manifest, what it references and its tags in one transaction. `check` runs inside it, so
   * what it verifies (the referenced blobs are linked) cannot change before the commit.
   */
  applyManifestPut(manifest: NewManifest, check: () => void): void {
    this.db.transaction(() => {
      check();
      const { repo, digest, now } = manifest;
      this.stmt(
        'INSERT INTO blobs (digest, size, touched_at) VALUES (?, ?, ?) ON CONFLICT (digest) DO UPDATE SET touched_at = excluded.touched_at',
      ).run(digest, manifest.size, now);
      this.stmt(
        `INSERT INTO manifests (repo, digest, media_type, size, subject, artifact_type, annotations, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (repo, digest) DO NOTHING`,
      ).run(
        repo,
        digest,
        manifest.mediaType,
        manifest.size,
        manifest.subject ?? null,
        manifest.artifactType ?? null,
        manifest.annotations ? JSON.stringify(manifest.annotations) : null,
        now,
      );
      const ref = this.stmt(
        'INSERT INTO manifest_refs (repo, manifest, child) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
      );
      for (const child of manifest.children) ref.run(repo, digest, child);
      const tag = this.stmt(
        'INSERT INTO tags (repo, tag, digest, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (repo, tag) DO UPDATE SET digest = excluded.digest, updated_at = excluded.updated_at',
      );
      for (const t of manifest.tags) tag.run(repo, t, digest, now);
    })();
  }

  getManifest(repo: string, digest: string): ManifestRow | undefined {
    const row = this.stmt('SELECT * FROM manifests WHERE repo = ? AND digest = ?').get(repo, digest);
    return row ? toManifest(row as Row) : undefined;
  }

  resolveTag(repo: string, tag: string): string | undefined {
    const row = this.stmt('SELECT digest FROM tags WHERE repo = ? AND tag = ?').get(repo, tag) as
      { digest: string } | undefined;
    return row?.digest;
  }

  /** Deletes a manifest, its references and every tag on it; false when the repository has no such manifest. */
  applyManifestDeleted(repo: string, digest: string): boolean {
    return this.db.transaction(() => {
      const gone = this.stmt('DELETE FROM manifests WHERE repo = ? AND digest = ?').run(repo, digest);
      if (gone.changes === 0) return false;
      this.stmt('DELETE FROM manifest_refs WHERE repo = ? AND manifest = ?').run(repo, digest);
      this.stmt('DELETE FROM tags WHERE repo = ? AND digest = ?').run(repo, digest);
      return true;
    })();
  }

  applyTagDeleted(repo: string, tag: string): boolean {
    return this.stmt('DELETE FROM tags WHERE repo = ? AND tag = ?').run(repo, tag).changes > 0;
  }

  /** Tags in byte ("ASCIIbetical") order after `last`, at most `limit` of them. */
  listTags(repo: string, last: string | undefined, limit: number): string[] {
    const rows = this.stmt('SELECT tag FROM tags WHERE repo = ? AND tag > ? ORDER BY tag LIMIT ?').all(
      repo,
      last ?? '',
      limit,
    ) as Array<{ tag: string }>;
    return rows.map((r) => r.tag);
  }

  repositoryExists(repo: string): boolean {
    return (
      this.stmt('SELECT 1 FROM manifests WHERE repo = ? LIMIT 1').get(repo) !== undefined ||
      this.stmt('SELECT 1 FROM links WHERE repo = ? LIMIT 1').get(repo) !== undefined
    );
  }

  /** Manifests of `repo` whose subject is `digest`, in digest order. */
  referrers(repo: string, digest: string): ManifestRow[] {
    const rows = this.stmt('SELECT * FROM manifests WHERE repo = ? AND subject = ? ORDER BY digest').all(
      repo,
      digest,
    ) as Row[];
    return rows.map(toManifest);
  }

  // Uploads.

  applyUploadStarted(id: string, repo: string, now: number): void {
    this.stmt('INSERT INTO uploads (id, repo, started_at, updated_at) VALUES (?, ?, ?, ?)').run(
      id,
      repo,
      now,
      now,
    );
  }

  getUpload(id: string): UploadRow | undefined {
    const row = this.stmt('SELECT * FROM uploads WHERE id = ?').get(id) as Row | undefined;
    if (!row) return undefined;
    return {
      id: row.id as string,
      repo: row.repo as string,
      startedAt: row.started_at as number,
      updatedAt: row.updated_at as number,
    };
  }

  applyUploadTouched(id: string, now: number): void {
    this.stmt('UPDATE uploads SET updated_at = ? WHERE id = ?').run(now, id);
  }

  applyUploadEnded(id: string): void {
    this.stmt('DELETE FROM uploads WHERE id = ?').run(id);
  }

  // Garbage collection.

  snapshot(): MetadataSnapshot {
    return this.db.transaction(() => ({
      blobs: this.stmt('SELECT digest, touched_at AS touchedAt FROM blobs').all() as Array<{
        digest: string;
        touchedAt: number;
      }>,
      links: this.stmt('SELECT repo, digest, linked_at AS linkedAt FROM links').all() as Array<{
        repo: string;
        digest: string;
        linkedAt: number;
      }>,
      manifests: this.stmt('SELECT repo, digest FROM manifests').all() as Array<{
        repo: string;
        digest: string;
      }>,
      refs: this.stmt('SELECT DISTINCT repo, child FROM manifest_refs').all() as Array<{
        repo: string;
        child: string;
      }>,
      uploads: this.stmt('SELECT id, updated_at AS updatedAt FROM uploads').all() as Array<{
        id: string;
        updatedAt: number;
      }>,
    }))();
  }

  /** Drops the links, blob records and upload records a GC plan names, in one transaction. */
  applyGcPlan(plan: {
    links: ReadonlyArray<{ repo: string; digest: string }>;
    blobs: readonly string[];
    uploads: readonly string[];
  }): void {
    this.db.transaction(() => {
      const link = this.stmt('DELETE FROM links WHERE repo = ? AND digest = ?');
      for (const l of plan.links) link.run(l.repo, l.digest);
      const blob = this.stmt('DELETE FROM blobs WHERE digest = ?');
      for (const d of plan.blobs) blob.run(d);
      const upload = this.stmt('DELETE FROM uploads WHERE id = ?');
      for (const u of plan.uploads) upload.run(u);
    })();
  }
}
