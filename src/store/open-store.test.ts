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

  test('parses etcd URLs: hosts, default port, TLS scheme, namespace', () => {
    assert.deepEqual(parseStoreUrl('etcd://10.0.0.1:2379,10.0.0.2:2380'), {
      kind: 'etcd',
      hosts: ['http://10.0.0.1:2379', 'http://10.0.0.2:2380'],
      namespace: '/berth/',
    });
    assert.deepEqual(parseStoreUrl('etcds://etcd.example/team-x'), {
      kind: 'etcd',
      hosts: ['https://etcd.example:2379'],
      namespace: '/team-x/',
    });
    assert.deepEqual(parseStoreUrl('etcd://[::1]:2379/'), {
      kind: 'etcd',
      hosts: ['http://[::1]:2379'],
      namespace: '/berth/',
    });
  });

  test('rejects unknown schemes and malformed URLs naming the accepted forms', () => {
    rejectsUrl('redis://localhost', /"memory:", "sqlite:\/path\/to\/state.db", a plain file path, or "etcd:/);
    rejectsUrl('etcd:127.0.0.1:2379', /names no etcd host/);
    rejectsUrl('etcd://', /not a list of host:port/);
    rejectsUrl('etcd://a:1,,b:2', /not a list of host:port/);
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
    await assert.rejects(openStore('etcd://127.0.0.1:1/'), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'ERR_STORE_OPEN');
      assert.match(err.message, /etcd:\/\/127\.0\.0\.1:1\/berth\//);
      return true;
    });
  });
});
