import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { ContentStore } from './content-store.js';
import { sha256Digest } from './digest.js';
import { makeTempDir, type TempDir } from './test-fixtures.js';

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe('ContentStore', () => {
  let dir: TempDir;
  let store: ContentStore;
  before(async () => {
    dir = await makeTempDir();
    store = await ContentStore.open(dir.path);
  });
  after(() => dir.cleanup());

  it('stores bytes under blobs/sha256/<hex> and reads them back verified', async () => {
    const blob = await store.putBytes(Buffer.from('hello, berth'));
    assert.equal(blob.digest, sha256Digest('hello, berth'));
    assert.equal(blob.size, 12);
    assert.equal(
      store.path(blob.digest),
      join(dir.path, 'blobs', 'sha256', blob.digest.slice('sha256:'.length)),
    );
    assert.equal(await store.has(blob.digest), true);
    assert.equal(await store.size(blob.digest), 12);
    assert.equal((await store.read(blob.digest)).toString(), 'hello, berth');
    assert.equal((await collect(store.createReadStream(blob.digest))).toString(), 'hello, berth');
    assert.deepEqual(await readdir(join(dir.path, 'ingest')), [], 'no temporary file is left behind');
  });

  it('round-trips JSON', async () => {
    const blob = await store.putJSON({ a: 1, b: ['x'] });
    assert.equal(blob.bytes.toString(), '{"a":1,"b":["x"]}');
    assert.deepEqual(await store.readJSON(blob.digest), { a: 1, b: ['x'] });
  });

  it('detects a corrupted blob on read and on streaming', async () => {
    const blob = await store.putBytes(Buffer.from('precious bytes'));
    await writeFile(store.path(blob.digest), 'precious bytez');
    await assert.rejects(store.read(blob.digest), { code: 'ERR_BLOB_CORRUPT' });
    await assert.rejects(store.readJSON(blob.digest), { code: 'ERR_BLOB_CORRUPT' });
    await assert.rejects(collect(store.createReadStream(blob.digest)), { code: 'ERR_BLOB_CORRUPT' });
  });

  it('refuses content that does not match the expected digest and keeps nothing', async () => {
    const expected = sha256Digest('what we asked for');
    await assert.rejects(store.putBytes(Buffer.from('what we got'), expected), { code: 'ERR_BLOB_CORRUPT' });
    assert.equal(await store.has(expected), false);
    assert.equal(await store.has(sha256Digest('what we got')), false);
    assert.deepEqual(await readdir(join(dir.path, 'ingest')), []);
  });

  it('leaves no blob when the source stream fails half way', async () => {
    const failing = new Readable({
      read() {
        this.push(Buffer.from('partial'));
        this.destroy(new Error('network went away'));
      },
    });
    await assert.rejects(store.ingest(failing), /network went away/);
    assert.equal(await store.has(sha256Digest('partial')), false);
    assert.deepEqual(await readdir(join(dir.path, 'ingest')), []);
  });

  it('does not rewrite a blob that is already present', async () => {
    const first = await store.putBytes(Buffer.from('once'));
    const again = await store.ingest(Readable.from([Buffer.from('once')]), first.digest);
    assert.deepEqual(again, { digest: first.digest, size: 4 });
    assert.equal((await readFile(store.path(first.digest))).toString(), 'once');
  });

  it('reports a missing blob as ERR_BLOB_NOT_FOUND', async () => {
    const missing = sha256Digest('never stored');
    await assert.rejects(store.read(missing), { code: 'ERR_BLOB_NOT_FOUND' });
    await assert.rejects(store.size(missing), { code: 'ERR_BLOB_NOT_FOUND' });
    await assert.rejects(collect(store.createReadStream(missing)), { code: 'ERR_BLOB_NOT_FOUND' });
    assert.throws(() => store.path('md5:abc'), { code: 'ERR_INVALID_ARGUMENT' });
  });
});
