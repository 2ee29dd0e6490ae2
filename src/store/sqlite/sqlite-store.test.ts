import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { runStoreConformance } from '../conformance.js';
import type { StoreOp } from '../state-store.js';
import { SCHEMA_VERSION } from './sqlite-schema.js';
import { SqliteStore } from './sqlite-store.js';

const root = mkdtempSync(join(tmpdir(), 'berth-sqlite-store-'));
after(() => rmSync(root, { recursive: true, force: true }));
let counter = 0;
const freshPath = () => join(root, `db-${++counter}`, 'state.db');

runStoreConformance('sqlite', () => SqliteStore.open(freshPath()));

async function rejectsOpen(path: string, pattern: RegExp): Promise<void> {
  await assert.rejects(SqliteStore.open(path), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'ERR_STORE_OPEN');
    assert.ok(err.message.includes(path), `message names the path: ${err.message}`);
    assert.match(err.message, pattern);
    assert.ok(!err.message.includes('\n'), 'one line');
    return true;
  });
}

describe('SqliteStore', () => {
  test('data and revision survive close and reopen; writes continue from the stored revision', async () => {
    const path = freshPath();
    const first = await SqliteStore.open(path);
    await first.apply([{ op: 'put', key: 'a', value: { n: 1 } }]);
    const { revision } = await first.apply([{ op: 'put', key: 'b', value: [2] }]);
    await first.close();
    const second = await SqliteStore.open(path);
    assert.equal(await second.revision(), revision);
    assert.deepEqual(await second.list(''), [
      { key: 'a', value: { n: 1 }, revision: revision - 1 },
      { key: 'b', value: [2], revision },
    ]);
    assert.deepEqual(await second.apply([{ op: 'delete', key: 'a' }]), { revision: revision + 1 });
    await second.close();
  });

  test('creates the parent directory with mode 0700, in WAL mode, at the current schema version', async () => {
    const path = freshPath();
    await (await SqliteStore.open(path)).close();
    assert.equal(statSync(join(path, '..')).mode & 0o777, 0o700);
    const db = new Database(path, { readonly: true });
    try {
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
      assert.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
      const columns = db.prepare('SELECT name FROM pragma_table_info(?)').pluck().all('kv');
      assert.deepEqual(columns, ['key', 'value', 'revision']);
    } finally {
      db.close();
    }
  });

  test('a parent that is a file gives ERR_STORE_OPEN naming the path', async () => {
    const file = join(root, 'plain-file');
    writeFileSync(file, 'x');
    await rejectsOpen(join(file, 'state.db'), /not a directory/);
  });

  test('a file that is not a database gives ERR_STORE_OPEN naming the path', async () => {
    const path = join(root, 'garbage.db');
    writeFileSync(path, 'this is not a sqlite database, just text that is long enough '.repeat(20));
    await rejectsOpen(path, /not a SQLite database/);
  });

  test('a database from a newer schema gives ERR_STORE_OPEN asking to upgrade', async () => {
    const path = freshPath();
    await (await SqliteStore.open(path)).close();
    const db = new Database(path);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    await rejectsOpen(path, /newer than this berth supports/);
  });

  test('throughput: single-put applies per second and a 1000-op batch (logged, not asserted)', async (t) => {
    for (const synchronous of ['NORMAL', 'FULL'] as const) {
      const store = await SqliteStore.open(freshPath(), { synchronous });
      const n = 2000;
      let start = performance.now();
      for (let i = 0; i < n; i++)
        await store.apply([{ op: 'put', key: `single/${i}`, value: { i, s: 'x'.repeat(100) } }]);
      const perSecond = Math.round(n / ((performance.now() - start) / 1000));
      const batch: StoreOp[] = Array.from({ length: 1000 }, (_, i) => ({
        op: 'put',
        key: `batch/${i}`,
        value: { i },
      }));
      start = performance.now();
      await store.apply(batch);
      const batchMs = (performance.now() - start).toFixed(1);
      t.diagnostic(
        `sqlite synchronous=${synchronous}: ${perSecond} single-put applies/s; 1000-op batch apply ${batchMs} ms`,
      );
      assert.equal((await store.list('single/')).length, n);
      assert.equal((await store.list('batch/')).length, 1000);
      await store.close();
    }
  });
});
