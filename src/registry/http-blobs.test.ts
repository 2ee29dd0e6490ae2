import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { digestOf, errorCode, pushBlob, startTestRegistry } from './test-fixtures.js';

let reg: Awaited<ReturnType<typeof startTestRegistry>>;
let url = '';
before(async () => {
  reg = await startTestRegistry({ maxBodyBytes: 1024 });
  url = reg.url;
});
after(() => reg.stop());

async function startUpload(repo: string): Promise<string> {
  const res = await fetch(`${url}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  assert.equal(res.status, 202);
  assert.equal(res.headers.get('range'), '0-0');
  assert.ok(res.headers.get('docker-upload-uuid'));
  const location = res.headers.get('location')!;
  assert.match(location, new RegExp(`^/v2/${repo}/blobs/uploads/`));
  return location;
}

const patch = (location: string, body: string, range?: string): Promise<Response> =>
  fetch(`${url}${location}`, {
    method: 'PATCH',
    headers: { 'content-type': 'application/octet-stream', ...(range ? { 'content-range': range } : {}) },
    body,
  });

describe('registry base and errors', () => {
  test('GET /v2/ is 200 {} with the API version header', async () => {
    const res = await fetch(`${url}/v2/`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('docker-distribution-api-version'), 'registry/2.0');
    assert.deepEqual(await res.json(), {});
  });

  test('invalid names are NAME_INVALID, traversal included', async () => {
    for (const name of ['UPPER', 'a..b', 'a/..b', '-x', 'a/.b']) {
      const res = await fetch(`${url}/v2/${name}/tags/list`);
      assert.equal(res.status, 400, name);
      assert.equal(await errorCode(res), 'NAME_INVALID');
    }
  });

  test('unknown endpoints and methods', async () => {
    assert.equal((await fetch(`${url}/v2/a/nothing`)).status, 404);
    const res = await fetch(`${url}/v2/a/tags/list`, { method: 'DELETE' });
    assert.equal(res.status, 405);
    assert.equal(await errorCode(res), 'UNSUPPORTED');
  });

  test('a non-blob request with a large body is refused with 413', async () => {
    const res = await fetch(`${url}/v2/a/tags/list`, { method: 'POST', body: 'x'.repeat(4096) });
    assert.equal(res.status, 413);
    assert.equal(await errorCode(res), 'SIZE_INVALID');
  });
});

describe('blob push', () => {
  test('POST then PUT with the whole blob', async () => {
    const location = await startUpload('mono');
    const digest = digestOf('monolithic');
    const res = await fetch(`${url}${location}?digest=${digest}`, { method: 'PUT', body: 'monolithic' });
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('location'), `/v2/mono/blobs/${digest}`);
    assert.equal(res.headers.get('docker-content-digest'), digest);
    assert.equal(await (await fetch(`${url}/v2/mono/blobs/${digest}`)).text(), 'monolithic');
  });

  test('a single POST with ?digest=', async () => {
    const digest = await pushBlob(url, 'single', 'one shot');
    const head = await fetch(`${url}/v2/single/blobs/${digest}`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), '8');
    assert.equal(head.headers.get('docker-content-digest'), digest);
  });

  test('chunks in order, status GET, then PUT with the last chunk', async () => {
    const location = await startUpload('chunked');
    let res = await patch(location, 'abc', '0-2');
    assert.equal(res.status, 202);
    assert.equal(res.headers.get('range'), '0-2');
    res = await patch(res.headers.get('location')!, 'def', '3-5');
    assert.equal(res.headers.get('range'), '0-5');
    const status = await fetch(`${url}${location}`);
    assert.equal(status.status, 204);
    assert.equal(status.headers.get('range'), '0-5');
    assert.equal(status.headers.get('location'), location);
    assert.ok(status.headers.get('docker-upload-uuid'));
    const digest = digestOf('abcdefgh');
    res = await fetch(`${url}${location}?digest=${digest}`, {
      method: 'PUT',
      headers: { 'content-range': '6-7', 'content-type': 'application/octet-stream' },
      body: 'gh',
    });
    assert.equal(res.status, 201);
    assert.equal(await (await fetch(`${url}/v2/chunked/blobs/${digest}`)).text(), 'abcdefgh');
    assert.equal((await fetch(`${url}${location}`)).status, 404, 'the upload is over');
  });

  test('an out-of-order chunk is 416 with the Range the upload has', async () => {
    const location = await startUpload('ooo');
    await patch(location, 'abc', '0-2');
    const res = await patch(location, 'xyz', '5-7');
    assert.equal(res.status, 416);
    assert.equal(res.headers.get('range'), '0-2');
    assert.equal(res.headers.get('location'), location);
    assert.equal(await errorCode(res), 'BLOB_UPLOAD_INVALID');
    const final = await fetch(`${url}${location}?digest=${digestOf('abcx')}`, {
      method: 'PUT',
      headers: { 'content-range': '2-2' },
      body: 'x',
    });
    assert.equal(final.status, 416, 'an out-of-order final chunk too');
    const ok = await patch(location, 'd', '3-3');
    assert.equal(ok.headers.get('range'), '0-3');
  });

  test('a chunk whose Content-Range disagrees with its length is SIZE_INVALID and not kept', async () => {
    const location = await startUpload('size');
    const res = await patch(location, 'abcd', '0-1');
    assert.equal(res.status, 400);
    assert.equal(await errorCode(res), 'SIZE_INVALID');
    assert.equal((await fetch(`${url}${location}`)).headers.get('range'), '0-0');
  });

  test('streamed PATCH without Content-Range, then PUT without a body', async () => {
    const location = await startUpload('streamed');
    const res = await fetch(`${url}${location}`, {
      method: 'PATCH',
      body: new ReadableStream({
        start(controller) {
          controller.enqueue(new TextEncoder().encode('stream-'));
          controller.enqueue(new TextEncoder().encode('ed'));
          controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    assert.equal(res.status, 202);
    assert.equal(res.headers.get('range'), '0-8');
    const digest = digestOf('stream-ed');
    const put = await fetch(`${url}${res.headers.get('location')}?digest=${digest}`, { method: 'PUT' });
    assert.equal(put.status, 201);
  });

  test('a digest mismatch is DIGEST_INVALID and leaves nothing behind', async () => {
    const location = await startUpload('mismatch');
    await patch(location, 'actual content', '0-13');
    const wrong = digestOf('something else');
    const res = await fetch(`${url}${location}?digest=${wrong}`, { method: 'PUT' });
    assert.equal(res.status, 400);
    assert.equal(await errorCode(res), 'DIGEST_INVALID');
    assert.equal(existsSync(join(reg.root, 'blobs', 'sha256', wrong.slice(7))), false);
    assert.equal(existsSync(join(reg.root, 'blobs', 'sha256', digestOf('actual content').slice(7))), false);
    assert.deepEqual(
      readdirSync(join(reg.root, 'uploads')).filter((f) => location.endsWith(f)),
      [],
    );
    assert.equal((await fetch(`${url}${location}`)).status, 404);
    const single = await fetch(`${url}/v2/mismatch/blobs/uploads/?digest=${wrong}`, {
      method: 'POST',
      body: 'x',
    });
    assert.equal(single.status, 400);
    assert.equal((await fetch(`${url}/v2/mismatch/blobs/${wrong}`, { method: 'HEAD' })).status, 404);
  });

  test('cancel an upload with DELETE', async () => {
    const location = await startUpload('cancel');
    await patch(location, 'abc');
    assert.equal((await fetch(`${url}${location}`, { method: 'DELETE' })).status, 204);
    const res = await fetch(`${url}${location}`);
    assert.equal(res.status, 404);
    assert.equal(await errorCode(res), 'BLOB_UPLOAD_UNKNOWN');
  });

  test('an upload belongs to its repository', async () => {
    const location = await startUpload('owner');
    const other = location.replace('/v2/owner/', '/v2/thief/');
    const res = await patch(other, 'x');
    assert.equal(res.status, 404);
    assert.equal(await errorCode(res), 'BLOB_UPLOAD_UNKNOWN');
  });

  test('PUT without ?digest= is BLOB_UPLOAD_INVALID; bad digests are DIGEST_INVALID; sha512 UNSUPPORTED', async () => {
    const location = await startUpload('digests');
    let res = await fetch(`${url}${location}`, { method: 'PUT' });
    assert.equal(await errorCode(res), 'BLOB_UPLOAD_INVALID');
    res = await fetch(`${url}${location}?digest=sha256:nothex`, { method: 'PUT' });
    assert.equal(res.status, 400);
    assert.equal(await errorCode(res), 'DIGEST_INVALID');
    res = await fetch(`${url}/v2/digests/blobs/uploads/?digest=sha512:${'a'.repeat(128)}`, {
      method: 'POST',
    });
    assert.equal(res.status, 400);
    assert.equal(await errorCode(res), 'UNSUPPORTED');
    res = await fetch(`${url}/v2/digests/blobs/uploads/?digest-algorithm=sha512`, { method: 'POST' });
    assert.equal(await errorCode(res), 'UNSUPPORTED');
  });
});

describe('blob pull, mount, delete', () => {
  const content = '0123456789';
  let digest = '';
  before(async () => {
    digest = await pushBlob(url, 'pull/repo', content);
  });

  test('Range GET: 206 with Content-Range, 416 past the end', async () => {
    let res = await fetch(`${url}/v2/pull/repo/blobs/${digest}`, { headers: { range: 'bytes=2-5' } });
    assert.equal(res.status, 206);
    assert.equal(res.headers.get('content-range'), 'bytes 2-5/10');
    assert.equal(await res.text(), '2345');
    res = await fetch(`${url}/v2/pull/repo/blobs/${digest}`, { headers: { range: 'bytes=-3' } });
    assert.equal(await res.text(), '789');
    res = await fetch(`${url}/v2/pull/repo/blobs/${digest}`, { headers: { range: 'bytes=10-' } });
    assert.equal(res.status, 416);
    assert.equal(res.headers.get('content-range'), 'bytes */10');
    res = await fetch(`${url}/v2/pull/repo/blobs/${digest}`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('accept-ranges'), 'bytes');
    assert.equal(await res.text(), content);
  });

  test('unknown blobs are BLOB_UNKNOWN, in another repository too', async () => {
    let res = await fetch(`${url}/v2/pull/repo/blobs/${digestOf('nope')}`);
    assert.equal(res.status, 404);
    assert.equal(await errorCode(res), 'BLOB_UNKNOWN');
    res = await fetch(`${url}/v2/elsewhere/blobs/${digest}`, { method: 'HEAD' });
    assert.equal(res.status, 404);
  });

  test('cross-repository mount: 201 when the source has it, else an upload (202)', async () => {
    let res = await fetch(`${url}/v2/mounted/blobs/uploads/?mount=${digest}&from=pull/repo`, {
      method: 'POST',
    });
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('location'), `/v2/mounted/blobs/${digest}`);
    assert.equal(res.headers.get('docker-content-digest'), digest);
    assert.equal(await (await fetch(`${url}/v2/mounted/blobs/${digest}`)).text(), content);
    res = await fetch(`${url}/v2/mounted2/blobs/uploads/?mount=${digest}&from=empty/repo`, {
      method: 'POST',
    });
    assert.equal(res.status, 202);
    assert.match(res.headers.get('location')!, /^\/v2\/mounted2\/blobs\/uploads\//);
  });

  test('DELETE of a blob unlinks it from the repository', async () => {
    const d = await pushBlob(url, 'del', 'to delete');
    assert.equal((await fetch(`${url}/v2/del/blobs/${d}`, { method: 'DELETE' })).status, 202);
    assert.equal((await fetch(`${url}/v2/del/blobs/${d}`, { method: 'HEAD' })).status, 404);
    const again = await fetch(`${url}/v2/del/blobs/${d}`, { method: 'DELETE' });
    assert.equal(again.status, 404);
    assert.equal(await errorCode(again), 'BLOB_UNKNOWN');
  });
});
