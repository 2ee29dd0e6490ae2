import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { MemoryStore, SqliteStore, openStore, parseStoreUrl } from './index.js';

const root = mkdtempSync(join(tmpdir(), 'berth-open-store-'));
after(() => rmSync(root, { recursive: true, force: true }));

function rejectsUrl(url: string, pattern: RegExp): void {
  assert.throws(
    () => parseStoreUrl(url),
    (err: Error & { code?: string }) => err.code === 'ERR_INVALID_STORE_URL' && pattern.test(err.message),
  );
}

describe('openStore', () => {
  test('parses memory:, sqlite: forms and bare paths', () => {
    assert.deepEqual(parseStoreUrl('memory:'), { kind: 'memory' });
    assert.deepEqual(parseStoreUrl('sqlite:/var/lib/berth/state.db'), {
      kind: 'sqlite',
      path: '/var/lib/berth/state.db',
    });
    assert.deepEqual(parseStoreUrl('sqlite:///var/state.db'), { kind: 'sqlite', path: '/var/state.db' });
    assert.deepEqual(parseStoreUrl('sqlite:data/state.db'), { kind: 'sqlite', path: 'data/state.db' });
    assert.deepEqual(parseStoreUrl('/abs/state.db'), { kind: 'sqlite', path: '/abs/state.db' });
    assert.deepEqual(parseStoreUrl('./state.db'), { kind: 'sqlite', path: './state.db' });
  });

  test('rejects unknown schemes naming the accepted forms, and etcd as not built yet', () => {
    rejectsUrl('redis://localhost', /"memory:", "sqlite:\/path\/to\/state.db" or a plain file path/);
    rejectsUrl('etcd://127.0.0.1:2379', /etcd store is not built yet.*"memory:"/);
    rejectsUrl('memory:extra', /"memory:"/);
    rejectsUrl('sqlite:', /names no file/);
    rejectsUrl('', /empty/);
  });

  test('opens the store the URL names', async () => {
    const memory = await openStore('memory:');
    assert.ok(memory instanceof MemoryStore);
    await memory.close();
    for (const url of [`sqlite:${join(root, 'a', 'state.db')}`, join(root, 'b', 'state.db')]) {
      const store = await openStore(url);
      assert.ok(store instanceof SqliteStore);
      await store.apply([{ op: 'put', key: 'k', value: url }]);
      assert.equal((await store.get('k'))?.value, url);
      await store.close();
    }
    await assert.rejects(
      openStore('etcd://x'),
      (err: { code?: string }) => err.code === 'ERR_INVALID_STORE_URL',
    );
  });
});
