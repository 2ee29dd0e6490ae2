import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { HtpasswdError } from './errors.js';
import { startRegistry } from './server.js';
import { errorCode, startTestRegistry } from './test-fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'berth-registry-auth-'));
const htpasswd = join(dir, 'htpasswd');
// alice / secret ({SHA}, htpasswd -s); bob / secret pw ($apr1$, htpasswd -m); carol / secret pw (bcrypt, -B)
writeFileSync(
  htpasswd,
  'alice:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=\nbob:$apr1$saltsalt$X8iAgaDJSyuAMkpLmM5/H/\n' +
    'carol:$2y$05$30kiWdQTtrJ1Y4H8xoAS9usYy5VEr8LrrNpcZM.oHoV9j2vsOj2Iy\n',
);
let reg: Awaited<ReturnType<typeof startTestRegistry>>;
before(async () => {
  reg = await startTestRegistry({ htpasswd });
});
after(async () => {
  await reg.stop();
  rmSync(dir, { recursive: true, force: true });
});

const basic = (user: string, password: string): Record<string, string> => ({
  authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
});

test('without credentials: 401, WWW-Authenticate Basic, UNAUTHORIZED', async () => {
  for (const path of ['/v2/', '/v2/a/tags/list', '/admin/gc']) {
    const res = await fetch(`${reg.url}${path}`, { method: path === '/admin/gc' ? 'POST' : 'GET' });
    assert.equal(res.status, 401, path);
    assert.equal(res.headers.get('www-authenticate'), 'Basic realm="berth"');
    assert.equal(await errorCode(res), 'UNAUTHORIZED');
  }
});

test('wrong password or unknown user: 401', async () => {
  assert.equal((await fetch(`${reg.url}/v2/`, { headers: basic('alice', 'nope') })).status, 401);
  assert.equal((await fetch(`${reg.url}/v2/`, { headers: basic('eve', 'secret') })).status, 401);
});

test('right credentials ({SHA}, $apr1$ and bcrypt): in', async () => {
  assert.equal((await fetch(`${reg.url}/v2/`, { headers: basic('carol', 'secret pw') })).status, 200);
  assert.equal((await fetch(`${reg.url}/v2/`, { headers: basic('carol', 'secret') })).status, 401);
  assert.equal((await fetch(`${reg.url}/v2/`, { headers: basic('alice', 'secret') })).status, 200);
  assert.equal((await fetch(`${reg.url}/v2/`, { headers: basic('bob', 'secret pw') })).status, 200);
  const post = await fetch(`${reg.url}/v2/a/blobs/uploads/`, {
    method: 'POST',
    headers: basic('bob', 'secret pw'),
  });
  assert.equal(post.status, 202);
});

test('an htpasswd file with a hash it cannot check is refused at start, naming the line', async () => {
  const bad = join(dir, 'crypt');
  writeFileSync(bad, '# users\ncarol:abDES.hash12\n');
  await assert.rejects(
    startRegistry({ root: join(dir, 'root'), port: 0, htpasswd: bad }),
    (err: unknown) => err instanceof HtpasswdError && /line 2 \(user "carol"\)/.test(err.message),
  );
});
