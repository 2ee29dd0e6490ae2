import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Database as Db } from 'better-sqlite3';
import { StoreOpenError } from '../errors.js';

/** The schema this code reads and writes, kept in SQLite's `user_version` header field. */
export const SCHEMA_VERSION = 2;

/** MIGRATIONS[v] takes the schema from version v to v + 1. Append; never edit a shipped entry. */
const MIGRATIONS: ReadonlyArray<string> = [
  `CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL, revision INTEGER NOT NULL) WITHOUT ROWID;
   CREATE TABLE meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
   INSERT INTO meta (name, value) VALUES ('revision', 0);`,
  // 2: create revisions (fences), leases, and the change log that watches read. A migrated store has no
  // history: revisions up to the current one count as compacted.
  `ALTER TABLE kv ADD COLUMN create_revision INTEGER NOT NULL DEFAULT 0;
   UPDATE kv SET create_revision = revision;
   ALTER TABLE kv ADD COLUMN lease INTEGER;
   CREATE INDEX kv_by_lease ON kv (lease) WHERE lease IS NOT NULL;
   CREATE TABLE changes (
     revision INTEGER NOT NULL,
     key TEXT NOT NULL,
     op TEXT NOT NULL CHECK (op IN ('put', 'delete')),
     value TEXT,
     PRIMARY KEY (revision, key)
   ) WITHOUT ROWID;
   CREATE TABLE leases (id INTEGER PRIMARY KEY AUTOINCREMENT, ttl_ms INTEGER NOT NULL, expires_at INTEGER NOT NULL);
   CREATE INDEX leases_by_expiry ON leases (expires_at);
   INSERT INTO meta (name, value) SELECT 'compacted', value + 1 FROM meta WHERE name = 'revision';`,
];

/**
 * `NORMAL` (the default): in WAL mode every commit survives a crash of the process; a power loss or OS
 * crash may lose the last commits, but never corrupts the database. `FULL` also survives power loss, at
 * the cost of an fsync per commit.
 */
export type SqliteSynchronous = 'NORMAL' | 'FULL';

export interface SqliteOpenOptions {
  synchronous?: SqliteSynchronous;
  /** How long a write waits for another process's lock before failing (ms). */
  busyTimeoutMs?: number;
}

/** Opens (creating if needed) and migrates the database; any failure becomes one StoreOpenError. */
export function openDatabase(path: string, options: SqliteOpenOptions = {}): Db {
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const db = new Database(path);
    try {
      configure(db, options);
      migrate(db, path);
      return db;
    } catch (err) {
      db.close();
      throw err;
    }
  } catch (err) {
    if (err instanceof StoreOpenError) throw err;
    throw new StoreOpenError(path, reasonOf(err), { cause: err });
  }
}

function configure(db: Db, options: SqliteOpenOptions): void {
  db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
  const mode = db.pragma('journal_mode = WAL', { simple: true });
  if (mode !== 'wal')
    throw new Error(`the filesystem does not support WAL (journal_mode is ${String(mode)})`);
  db.pragma(`synchronous = ${options.synchronous ?? 'NORMAL'}`);
}

function migrate(db: Db, path: string): void {
  db.transaction(() => {
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION)
      throw new StoreOpenError(
        path,
        `its schema version ${version} is newer than this berth supports (${SCHEMA_VERSION}); upgrade berth`,
      );
    for (let v = version; v < SCHEMA_VERSION; v++) db.exec(MIGRATIONS[v] as string);
    if (version !== SCHEMA_VERSION) db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}

function reasonOf(err: unknown): string {
  const e = err as { code?: string; message?: string };
  if (e.code === 'SQLITE_NOTADB') return 'the file is not a SQLite database';
  if (e.code === 'EACCES' || e.code === 'SQLITE_CANTOPEN' || e.code === 'SQLITE_READONLY')
    return `${e.message ?? 'permission denied'} (check that the directory exists and is writable)`;
  if (e.code === 'ENOTDIR' || e.code === 'EEXIST') return 'a parent of the path is not a directory';
  return e.message ?? String(err);
}
