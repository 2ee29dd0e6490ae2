import { resolve } from 'node:path';
import type { Database as Db, Statement } from 'better-sqlite3';
import { StoreBusyError, StoreClosedError } from '../errors.js';
import { checkKey, checkPrefix, prefixEnd } from '../keys.js';
import { checkConditions, checkLimit, enforceConditions, prepareOps } from '../ops.js';
import type { PreparedOp } from '../ops.js';
import type {
  ApplyOptions,
  ListOptions,
  StateStore,
  StoreCondition,
  StoreEntry,
  StoreOp,
} from '../state-store.js';
import { decodeValue } from '../values.js';
import { openDatabase } from './sqlite-schema.js';
import type { SqliteOpenOptions } from './sqlite-schema.js';

interface Row {
  key: string;
  value: string;
  revision: number;
}

/** SQL, prepared once per store. Prefix scans are key ranges, so they use the primary key index. */
function prepareStatements(db: Db) {
  const cols = 'SELECT key, value, revision FROM kv';
  return {
    get: db.prepare<[string], Row>(`${cols} WHERE key = ?`),
    listRange: db.prepare<[string, string, number], Row>(
      `${cols} WHERE key >= ? AND key < ? ORDER BY key LIMIT ?`,
    ),
    listFrom: db.prepare<[string, number], Row>(`${cols} WHERE key >= ? ORDER BY key LIMIT ?`),
    put: db.prepare<[string, string, number]>(
      `INSERT INTO kv (key, value, revision) VALUES (?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value, revision = excluded.revision`,
    ),
    delete: db.prepare<[string]>('DELETE FROM kv WHERE key = ?'),
    deleteRange: db.prepare<[string, string]>('DELETE FROM kv WHERE key >= ? AND key < ?'),
    deleteFrom: db.prepare<[string]>('DELETE FROM kv WHERE key >= ?'),
    revision: db.prepare<[], { value: number }>("SELECT value FROM meta WHERE name = 'revision'"),
    setRevision: db.prepare<[number]>("UPDATE meta SET value = ? WHERE name = 'revision'"),
  };
}

type Statements = ReturnType<typeof prepareStatements>;

/**
 * The embedded StateStore: one SQLite file (WAL mode), see sqlite-schema.ts for durability. better-sqlite3
 * is synchronous, so each call completes before the next starts; `apply` is one IMMEDIATE transaction, so
 * it is also atomic against other processes using the same file.
 */
export class SqliteStore implements StateStore {
  private readonly sql: Statements;
  private readonly applyTxn: (ops: PreparedOp[], conditions: StoreCondition[]) => number;
  private closed = false;

  private constructor(
    private readonly db: Db,
    readonly path: string,
  ) {
    this.sql = prepareStatements(db);
    const txn = db.transaction((ops: PreparedOp[], conditions: StoreCondition[]) =>
      this.applyNow(ops, conditions),
    );
    this.applyTxn = (ops, conditions) => txn.immediate(ops, conditions);
  }

  static async open(path: string, options?: SqliteOpenOptions): Promise<SqliteStore> {
    const absolute = resolve(path);
    return new SqliteStore(openDatabase(absolute, options), absolute);
  }

  async get<T>(key: string): Promise<Readonly<StoreEntry<T>> | undefined> {
    this.checkOpen();
    checkKey(key);
    const row = this.guard(() => this.sql.get.get(key));
    return row && toEntry<T>(row);
  }

  async list<T>(prefix: string, options?: ListOptions): Promise<ReadonlyArray<Readonly<StoreEntry<T>>>> {
    this.checkOpen();
    checkPrefix(prefix);
    const limit = checkLimit(options) ?? -1;
    const end = prefixEnd(prefix);
    const rows = this.guard(() =>
      end === undefined ? this.sql.listFrom.all(prefix, limit) : this.sql.listRange.all(prefix, end, limit),
    );
    return Object.freeze(rows.map((row) => toEntry<T>(row)));
  }

  async apply(ops: StoreOp[], options?: ApplyOptions): Promise<{ revision: number }> {
    this.checkOpen();
    const prepared = prepareOps(ops);
    const conditions = checkConditions(options?.if);
    return { revision: this.guard(() => this.applyTxn(prepared, conditions)) };
  }

  async revision(): Promise<number> {
    this.checkOpen();
    return this.guard(() => this.currentRevision());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }

  /** Runs inside the transaction; a throw rolls everything back. */
  private applyNow(ops: PreparedOp[], conditions: StoreCondition[]): number {
    enforceConditions(conditions, (key) => this.sql.get.get(key)?.revision ?? 0);
    const current = this.currentRevision();
    let changed = false;
    for (const op of ops) changed = this.applyOp(op, current + 1) || changed;
    if (!changed) return current;
    this.sql.setRevision.run(current + 1);
    return current + 1;
  }

  /** Returns whether the op wrote something. */
  private applyOp(op: PreparedOp, revision: number): boolean {
    if (op.op === 'put') return run(this.sql.put, op.key, op.text, revision) > 0;
    if (op.op === 'delete') return run(this.sql.delete, op.key) > 0;
    const end = prefixEnd(op.prefix);
    return (
      (end === undefined ? run(this.sql.deleteFrom, op.prefix) : run(this.sql.deleteRange, op.prefix, end)) >
      0
    );
  }

  private currentRevision(): number {
    return this.sql.revision.get()?.value ?? 0;
  }

  private guard<R>(fn: () => R): R {
    try {
      return fn();
    } catch (err) {
      if ((err as { code?: unknown }).code === 'SQLITE_BUSY')
        throw new StoreBusyError(this.path, { cause: err });
      throw err;
    }
  }

  private checkOpen(): void {
    if (this.closed) throw new StoreClosedError();
  }
}

function run<P extends unknown[]>(statement: Statement<P>, ...params: P): number {
  return statement.run(...params).changes;
}

function toEntry<T>(row: Row): Readonly<StoreEntry<T>> {
  return Object.freeze({ key: row.key, value: decodeValue<T>(row.value), revision: row.revision });
}
