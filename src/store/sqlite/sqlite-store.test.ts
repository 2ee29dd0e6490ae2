import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { FakeClock } from '../../core/clock.js';
import { runStoreConformance } from '../conformance.js';
import { collect, put } from '../conformance-support.js';
import type { StoreOp } from '../state-store.js';
import { SCHEMA_VERSION } from './sqlite-schema.js';
import { SqliteStore } from './sqlite-store.js';

const root = mkdtempSync(join(tmpdir(), 'berth-sqlite-store-'));
after(() => rmSync(root, { recursive: true, force: true }));
let counter = 0;
const freshPath = () => join(root, `db-${++counter}`, 'state.db');

runStoreConformance('sqlite', (options) => SqliteStore.open(freshPath(), { clock: options?.clock }), {
  fakeClock: true,
});

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
      assert.deepEqual(columns, ['key', 'value', 'revision', 'create_revision', 'lease']);
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

describe('SqliteStore across processes (two stores on one file)', () => {
  test('a watch sees commits made through another connection, by polling the change log', async () => {
    const path = freshPath();
    const watcher = await SqliteStore.open(path, { pollIntervalMs: 20 });
    const writer = await SqliteStore.open(path);
    try {
      const local = await watcher.apply([put('x/local', 1)]);
      const c = await collect(watcher, 'x/', { fromRevision: local.revision });
      const remote = await writer.apply([put('x/remote', 2), { op: 'delete', key: 'x/local' }]);
      await c.waitFor(remote.revision);
      assert.deepEqual(c.events, [
        { type: 'put', key: 'x/local', value: 1, revision: local.revision },
        { type: 'delete', key: 'x/local', revision: remote.revision },
        { type: 'put', key: 'x/remote', value: 2, revision: remote.revision },
      ]);
    } finally {
      await writer.close();
      await watcher.close();
    }
  });

  test("another process expires a dead process's lease when it is due", async () => {
    const path = freshPath();
    const clock = new FakeClock(1_000);
    const owner = await SqliteStore.open(path, { clock });
    const lease = await owner.grantLease(500);
    await owner.apply([put('owned', 1, lease.id)]);
    await owner.close();
    const survivor = await SqliteStore.open(path, { clock });
    try {
      assert.equal((await survivor.get('owned'))?.value, 1);
      clock.advance(500);
      assert.equal(await survivor.get('owned'), undefined);
      await assert.rejects(lease.keepAlive(), (err: { code?: string }) => err.code === 'ERR_STORE_CLOSED');
    } finally {
      await survivor.close();
    }
  });

  test('a watch that falls behind the pruned change log ends with ERR_STORE_COMPACTED', async () => {
    const path = freshPath();
    const watcher = await SqliteStore.open(path, { pollIntervalMs: 60_000 });
    const writer = await SqliteStore.open(path, { historyRevisions: 10 });
    try {
      const watch = await watcher.watch('', {}, () => undefined);
      for (let i = 0; i < 70; i++) await writer.apply([put(`k/${i}`, i)]);
      await watcher.revision();
      await watcher.apply([put('nudge', 1)]);
      const ended = await watch.ended;
      assert.equal((ended as { code?: string } | undefined)?.code, 'ERR_STORE_COMPACTED');
      await assert.rejects(
        watcher.watch('', { fromRevision: 1 }, () => undefined),
        (err: { code?: string }) => err.code === 'ERR_STORE_COMPACTED',
      );
    } finally {
      await writer.close();
      await watcher.close();
    }
  });

  test('a schema-1 database migrates: data kept, history starts after it, create revision = revision', async () => {
    const path = freshPath();
    mkdirSync(join(path, '..'), { recursive: true });
    const db = new Database(path);
    db.exec(`CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL, revision INTEGER NOT NULL) WITHOUT ROWID;
      CREATE TABLE meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
      INSERT INTO meta (name, value) VALUES ('revision', 7);
      INSERT INTO kv (key, value, revision) VALUES ('old', '"v"', 5);`);
    db.pragma('user_version = 1');
    db.close();
    const store = await SqliteStore.open(path);
    try {
      assert.deepEqual(await store.get('old'), { key: 'old', value: 'v', revision: 5 });
      assert.equal(await store.revision(), 7);
      await assert.rejects(
        store.watch('', { fromRevision: 7 }, () => undefined),
        (err: { code?: string }) => err.code === 'ERR_STORE_COMPACTED',
      );
      const c = await collect(store, '', { fromRevision: 8 });
      const { revision } = await store.apply([put('new', 1)], { fence: { key: 'old', createRevision: 5 } });
      await c.waitFor(revision);
      assert.deepEqual(c.events, [{ type: 'put', key: 'new', value: 1, revision: 8 }]);
    } finally {
      await store.close();
    }
  });
});
