import type { Database as Db } from 'better-sqlite3';

export interface KvRow {
  key: string;
  value: string;
  revision: number;
  create_revision: number;
}

export interface ChangeRow {
  revision: number;
  key: string;
  op: 'put' | 'delete';
  value: string | null;
}

/** SQL, prepared once per store. Prefix scans are key ranges, so they use the primary key index. */
export function prepareStatements(db: Db) {
  const cols = 'SELECT key, value, revision, create_revision FROM kv';
  const changes = 'SELECT revision, key, op, value FROM changes WHERE revision >= ?';
  const meta = (name: string) =>
    db.prepare<[], { value: number }>(`SELECT value FROM meta WHERE name = '${name}'`);
  const setMeta = (name: string) => db.prepare<[number]>(`UPDATE meta SET value = ? WHERE name = '${name}'`);
  return {
    get: db.prepare<[string], KvRow>(`${cols} WHERE key = ?`),
    listRange: db.prepare<[string, string, number], KvRow>(
      `${cols} WHERE key >= ? AND key < ? ORDER BY key LIMIT ?`,
    ),
    listFrom: db.prepare<[string, number], KvRow>(`${cols} WHERE key >= ? ORDER BY key LIMIT ?`),
    keysRange: db
      .prepare<[string, string], string>('SELECT key FROM kv WHERE key >= ? AND key < ? ORDER BY key')
      .pluck(),
    keysFrom: db.prepare<[string], string>('SELECT key FROM kv WHERE key >= ? ORDER BY key').pluck(),
    put: db.prepare<[string, string, number, number, number | null]>(
      `INSERT INTO kv (key, value, revision, create_revision, lease) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value, revision = excluded.revision,
         create_revision = excluded.create_revision, lease = excluded.lease`,
    ),
    delete: db.prepare<[string]>('DELETE FROM kv WHERE key = ?'),
    revision: meta('revision'),
    setRevision: setMeta('revision'),
    compacted: meta('compacted'),
    setCompacted: setMeta('compacted'),
    addChange: db.prepare<[number, string, string, string | null]>(
      'INSERT INTO changes (revision, key, op, value) VALUES (?, ?, ?, ?)',
    ),
    changesRange: db.prepare<[number, string, string], ChangeRow>(
      `${changes} AND key >= ? AND key < ? ORDER BY revision, key`,
    ),
    changesFrom: db.prepare<[number, string], ChangeRow>(`${changes} AND key >= ? ORDER BY revision, key`),
    pruneChanges: db.prepare<[number]>('DELETE FROM changes WHERE revision < ?'),
    grantLease: db.prepare<[number, number]>('INSERT INTO leases (ttl_ms, expires_at) VALUES (?, ?)'),
    leaseExpiry: db.prepare<[number], number>('SELECT expires_at FROM leases WHERE id = ?').pluck(),
    refreshLease: db.prepare<[number, number]>('UPDATE leases SET expires_at = ? + ttl_ms WHERE id = ?'),
    deleteLease: db.prepare<[number]>('DELETE FROM leases WHERE id = ?'),
    leasesDue: db
      .prepare<[number], number>('SELECT id FROM leases WHERE expires_at <= ? ORDER BY expires_at')
      .pluck(),
    earliestLease: db.prepare<[], number | null>('SELECT MIN(expires_at) FROM leases').pluck(),
    keysOfLease: db.prepare<[number], string>('SELECT key FROM kv WHERE lease = ? ORDER BY key').pluck(),
  };
}

export type Statements = ReturnType<typeof prepareStatements>;
