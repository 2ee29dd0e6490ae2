import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { runStoreConformance } from '../conformance.js';
import { collect, eventually, put } from '../conformance-support.js';
import { openStore } from '../open-store.js';
import type { StateStore } from '../state-store.js';
import { EtcdStore } from './etcd-store.js';
import { ETCD_BINARY, EtcdTestServer } from './etcd-test-server.js';

let namespaces = 0;
const namespace = () => `/berth-test-${process.pid}-${++namespaces}/`;

if (!EtcdTestServer.available()) {
  const reason = `${ETCD_BINARY} is missing (apt-get install -y etcd-server); the etcd store is not tested`;
  console.log(`# SKIP etcd store tests: ${reason}`);
  test('etcd store conformance', { skip: reason }, () => undefined);
} else {
  const server = await EtcdTestServer.start();
  after(() => server.dispose());
  runStoreConformance('etcd', () => EtcdStore.open({ hosts: [server.clientUrl], namespace: namespace() }), {
    fakeClock: false,
  });
  test('openStore("etcd://…/namespace/") opens an EtcdStore under that namespace', async () => {
    const store = await openStore(`etcd://127.0.0.1:${server.clientPort}${namespace()}`);
    try {
      assert.ok(store instanceof EtcdStore);
      const { revision } = await store.apply([put('k', 'v')]);
      assert.deepEqual(await store.get('k'), { key: 'k', value: 'v', revision });
    } finally {
      await store.close();
    }
  });
  registerRestartTests();
}

function registerRestartTests(): void {
  describe('EtcdStore across etcd restarts', () => {
    let server: EtcdTestServer;
    before(async () => (server = await EtcdTestServer.start()));
    after(() => server.dispose());
    const open = (ns: string) => EtcdStore.open({ hosts: [server.clientUrl], namespace: ns });

    /** Retries a call while etcd is coming back (ERR_STORE_UNAVAILABLE is retryable). */
    async function retrying<R>(fn: () => Promise<R>): Promise<R> {
      let result: R | undefined;
      await eventually('etcd to answer again', async () => {
        try {
          result = await fn();
          return true;
        } catch (err) {
          assert.equal((err as { retryable?: boolean }).retryable, true, String(err));
          return false;
        }
      });
      return result as R;
    }

    test('a watch survives a restart and resumes after the last revision it delivered', async () => {
      const ns = namespace();
      const watching = await open(ns);
      let writer: StateStore | undefined;
      try {
        const c = await collect(watching, 'r/');
        const r1 = await watching.apply([put('r/1', 1)]);
        await c.waitFor(r1.revision);
        await server.stop();
        await server.start();
        writer = await retrying(() => open(ns));
        const r2 = await retrying(() => (writer as StateStore).apply([put('r/2', 2)]));
        const r3 = await writer.apply([put('r/3', 3), { op: 'delete', key: 'r/1' }]);
        await c.waitFor(r3.revision);
        assert.deepEqual(c.events, [
          { type: 'put', key: 'r/1', value: 1, revision: r1.revision },
          { type: 'put', key: 'r/2', value: 2, revision: r2.revision },
          { type: 'delete', key: 'r/1', revision: r3.revision },
          { type: 'put', key: 'r/3', value: 3, revision: r3.revision },
        ]);
        const settled = await Promise.race([c.watch.ended.then(() => 'ended'), Promise.resolve('running')]);
        assert.equal(settled, 'running');
      } finally {
        await writer?.close();
        await watching.close();
      }
    });

    test('a store recovers after a restart without losing data; calls meanwhile fail as retryable', async () => {
      const store = await open(namespace());
      try {
        const ops = Array.from({ length: 50 }, (_, i) => put(`d/${String(i).padStart(2, '0')}`, { i }));
        const { revision } = await store.apply(ops);
        await server.stop();
        await assert.rejects(store.get('d/00'), (err: { code?: string; retryable?: boolean }) => {
          assert.equal(err.code, 'ERR_STORE_UNAVAILABLE');
          assert.equal(err.retryable, true);
          return true;
        });
        await server.start();
        const listed = await retrying(() => store.list<{ i: number }>('d/'));
        assert.deepEqual(
          listed.map((e) => [e.key, e.value.i, e.revision]),
          ops.map((_, i) => [`d/${String(i).padStart(2, '0')}`, i, revision]),
        );
        const next = await store.apply([put('d/after', true)], { if: [{ key: 'd/00', revision }] });
        assert.ok(next.revision > revision);
      } finally {
        await store.close();
      }
    });
  });
}
