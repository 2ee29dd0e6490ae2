import assert from 'node:assert/strict';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { makeTempDir } from '../test-fixtures.js';
import { CredentialStore, decodeAuth, defaultCredentialsFile, encodeAuth } from './credentials.js';

describe('CredentialStore', () => {
  it('stores Docker-style auths in a 0600 file, keeps other keys, and forgets on remove', async () => {
    const tmp = await makeTempDir();
    try {
      const file = join(tmp.path, 'home', 'auth.json');
      const store = new CredentialStore(file);
      assert.equal(await store.get('127.0.0.1:5000'), undefined);
      await store.set('127.0.0.1:5000', { username: 'ci', password: 'p:a:ss' });
      assert.equal((await stat(file)).mode & 0o777, 0o600);
      const raw = JSON.parse(await readFile(file, 'utf8')) as unknown;
      assert.deepEqual(raw, {
        auths: { '127.0.0.1:5000': { auth: Buffer.from('ci:p:a:ss').toString('base64') } },
      });
      await writeFile(file, JSON.stringify({ ...(raw as object), credsStore: 'x' }));
      await store.set('localhost:5001', { username: 'u', password: 'p' });
      assert.deepEqual(await store.get('127.0.0.1:5000'), { username: 'ci', password: 'p:a:ss' });
      assert.equal(await store.remove('127.0.0.1:5000'), true);
      assert.equal(await store.remove('127.0.0.1:5000'), false);
      const after = JSON.parse(await readFile(file, 'utf8')) as { credsStore?: string; auths: object };
      assert.equal(after.credsStore, 'x');
      assert.deepEqual(Object.keys(after.auths), ['localhost:5001']);
      assert.equal((await stat(file)).mode & 0o777, 0o600);
    } finally {
      await tmp.cleanup();
    }
  });

  it('lives in BERTH_HOME; auth strings round-trip', () => {
    assert.equal(defaultCredentialsFile({ BERTH_HOME: '/srv/b' }), '/srv/b/auth.json');
    assert.deepEqual(decodeAuth(encodeAuth({ username: 'a', password: 'b:c' })), {
      username: 'a',
      password: 'b:c',
    });
    assert.equal(decodeAuth(Buffer.from('nocolon').toString('base64')), undefined);
  });
});
