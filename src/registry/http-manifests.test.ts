import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST } from './manifest.js';
import {
  descriptorOf,
  digestOf,
  errorCode,
  imageManifest,
  pushBlob,
  pushImageBlobs,
  putManifest,
  startTestRegistry,
} from './test-fixtures.js';

let reg: Awaited<ReturnType<typeof startTestRegistry>>;
let url = '';
before(async () => {
  reg = await startTestRegistry({ maxManifestBytes: 64 * 1024 });
  url = reg.url;
});
after(() => reg.stop());

describe('manifests', () => {
  test('PUT by tag, then GET and HEAD by tag and digest, byte for byte', async () => {
    // Unusual whitespace: the registry must not re-serialize.
    const manifest = (await pushImageBlobs(url, 'app', ['layer one'])).replace('{', '{  ');
    const digest = digestOf(manifest);
    const put = await putManifest(url, 'app', 'v1', manifest);
    assert.equal(put.status, 201);
    assert.equal(put.headers.get('docker-content-digest'), digest);
    assert.equal(put.headers.get('location'), `/v2/app/manifests/${digest}`);
    for (const ref of ['v1', digest]) {
      const res = await fetch(`${url}/v2/app/manifests/${ref}`, { headers: { accept: OCI_MANIFEST } });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), OCI_MANIFEST);
      assert.equal(res.headers.get('docker-content-digest'), digest);
      assert.equal(await res.text(), manifest);
      const head = await fetch(`${url}/v2/app/manifests/${ref}`, { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.equal(head.headers.get('content-length'), String(Buffer.byteLength(manifest)));
      assert.equal(head.headers.get('docker-content-digest'), digest);
    }
  });

  test('PUT by digest: the body must hash to it; ?tag= adds tags (OCI-Tag)', async () => {
    const manifest = await pushImageBlobs(url, 'bydigest', ['l']);
    const digest = digestOf(manifest);
    const wrong = await putManifest(url, 'bydigest', digestOf('other'), manifest);
    assert.equal(wrong.status, 400);
    assert.equal(await errorCode(wrong), 'DIGEST_INVALID');
    const res = await putManifest(url, 'bydigest', `${digest}?tag=a&tag=b`, manifest);
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('oci-tag'), 'a, b');
    const tags = (await (await fetch(`${url}/v2/bydigest/tags/list`)).json()) as { tags: string[] };
    assert.deepEqual(tags.tags, ['a', 'b']);
  });

  test('unknown manifests are MANIFEST_UNKNOWN; bad tags are refused', async () => {
    let res = await fetch(`${url}/v2/app/manifests/nope`);
    assert.equal(res.status, 404);
    assert.equal(await errorCode(res), 'MANIFEST_UNKNOWN');
    res = await fetch(`${url}/v2/app/manifests/${digestOf('x')}`, { method: 'HEAD' });
    assert.equal(res.status, 404);
    res = await putManifest(url, 'app', '-bad', '{}');
    assert.equal(res.status, 400);
    assert.equal(await errorCode(res), 'MANIFEST_INVALID');
  });

  test('referenced blobs must be in the repository: MANIFEST_BLOB_UNKNOWN', async () => {
    const manifest = await pushImageBlobs(url, 'complete', ['present']);
    const res = await putManifest(url, 'incomplete', 'v1', manifest);
    assert.equal(res.status, 400);
    const body = (await res.json()) as { errors: Array<{ code: string; detail: { missing: string[] } }> };
    assert.equal(body.errors[0]!.code, 'MANIFEST_BLOB_UNKNOWN');
    assert.equal(body.errors[0]!.detail.missing.length, 2);
    assert.equal((await fetch(`${url}/v2/incomplete/manifests/v1`)).status, 404);
  });

  test('index children must be manifests of the repository', async () => {
    const child = await pushImageBlobs(url, 'multi', ['amd64 layer']);
    const index = (digest: string): string =>
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        manifests: [{ mediaType: OCI_MANIFEST, digest, size: child.length }],
      });
    let res = await putManifest(url, 'multi', 'all', index(digestOf(child)), OCI_INDEX);
    assert.equal(await errorCode(res), 'MANIFEST_BLOB_UNKNOWN');
    assert.equal((await putManifest(url, 'multi', digestOf(child), child)).status, 201);
    res = await putManifest(url, 'multi', 'all', index(digestOf(child)), OCI_INDEX);
    assert.equal(res.status, 201);
    assert.equal((await fetch(`${url}/v2/multi/manifests/all`)).headers.get('content-type'), OCI_INDEX);
  });

  test('Docker schema 2 manifests and manifest lists', async () => {
    const config = '{"docker":true}';
    await pushBlob(url, 'docker', config);
    await pushBlob(url, 'docker', 'docker layer');
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: DOCKER_MANIFEST,
      config: descriptorOf(config, 'application/vnd.docker.container.image.v1+json'),
      layers: [descriptorOf('docker layer', 'application/vnd.docker.image.rootfs.diff.tar.gzip')],
    });
    assert.equal((await putManifest(url, 'docker', 'v2', manifest, DOCKER_MANIFEST)).status, 201);
    const list = JSON.stringify({
      schemaVersion: 2,
      mediaType: DOCKER_MANIFEST_LIST,
      manifests: [{ mediaType: DOCKER_MANIFEST, digest: digestOf(manifest), size: manifest.length }],
    });
    assert.equal((await putManifest(url, 'docker', 'list', list, DOCKER_MANIFEST_LIST)).status, 201);
    const res = await fetch(`${url}/v2/docker/manifests/list`);
    assert.equal(res.headers.get('content-type'), DOCKER_MANIFEST_LIST);
  });

  test('CVE-2021-41190: a manifest that is also an index is MANIFEST_INVALID', async () => {
    const manifest = await pushImageBlobs(url, 'cve', ['l']);
    const confused = JSON.stringify({ ...JSON.parse(manifest), manifests: [] });
    let res = await putManifest(url, 'cve', 'x', confused);
    assert.equal(res.status, 400);
    assert.equal(await errorCode(res), 'MANIFEST_INVALID');
    const index = JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [], layers: [] });
    res = await putManifest(url, 'cve', 'y', index, OCI_INDEX);
    assert.equal(await errorCode(res), 'MANIFEST_INVALID');
    res = await putManifest(url, 'cve', 'z', manifest, OCI_INDEX);
    assert.equal(await errorCode(res), 'MANIFEST_INVALID', 'Content-Type contradicting mediaType');
  });

  test('a manifest over the size limit is 413 SIZE_INVALID', async () => {
    const res = await putManifest(
      url,
      'big',
      'v1',
      JSON.stringify({ schemaVersion: 2, pad: 'x'.repeat(70 * 1024) }),
    );
    assert.equal(res.status, 413);
    assert.equal(await errorCode(res), 'SIZE_INVALID');
  });

  test('DELETE by tag removes the tag; by digest removes the manifest and its tags', async () => {
    const manifest = await pushImageBlobs(url, 'deleting', ['l']);
    const digest = digestOf(manifest);
    await putManifest(url, 'deleting', 't1', manifest);
    await putManifest(url, 'deleting', 't2', manifest);
    assert.equal((await fetch(`${url}/v2/deleting/manifests/t1`, { method: 'DELETE' })).status, 202);
    assert.equal((await fetch(`${url}/v2/deleting/manifests/t1`)).status, 404);
    assert.equal((await fetch(`${url}/v2/deleting/manifests/t2`)).status, 200);
    assert.equal((await fetch(`${url}/v2/deleting/manifests/${digest}`, { method: 'DELETE' })).status, 202);
    assert.equal((await fetch(`${url}/v2/deleting/manifests/t2`)).status, 404);
    assert.equal((await fetch(`${url}/v2/deleting/manifests/${digest}`)).status, 404);
    const again = await fetch(`${url}/v2/deleting/manifests/${digest}`, { method: 'DELETE' });
    assert.equal(again.status, 404);
    assert.equal(await errorCode(again), 'MANIFEST_UNKNOWN');
  });
});

describe('tags', () => {
  before(async () => {
    const manifest = await pushImageBlobs(url, 'tagged', ['l']);
    for (const tag of ['b', 'a', 'C', 'd', 'e', '_z']) await putManifest(url, 'tagged', tag, manifest);
  });

  test('all tags in byte order', async () => {
    const res = await fetch(`${url}/v2/tagged/tags/list`);
    assert.deepEqual(await res.json(), { name: 'tagged', tags: ['C', '_z', 'a', 'b', 'd', 'e'] });
    assert.equal(res.headers.get('link'), null);
  });

  test('pagination with n and last, following the Link header', async () => {
    const seen: string[] = [];
    let next: string | null = '/v2/tagged/tags/list?n=4';
    while (next) {
      const res: Response = await fetch(`${url}${next}`);
      const body = (await res.json()) as { tags: string[] };
      seen.push(...body.tags);
      const link = res.headers.get('link');
      next = link ? /^<([^>]+)>; rel="next"$/.exec(link)![1]! : null;
    }
    assert.deepEqual(seen, ['C', '_z', 'a', 'b', 'd', 'e']);
    const page = (await (await fetch(`${url}/v2/tagged/tags/list?n=2&last=a`)).json()) as { tags: string[] };
    assert.deepEqual(page.tags, ['b', 'd']);
    const rest = (await (await fetch(`${url}/v2/tagged/tags/list?last=d`)).json()) as { tags: string[] };
    assert.deepEqual(rest.tags, ['e']);
  });

  test('n=0 is an empty list without Link; a bad n is refused; unknown repos are NAME_UNKNOWN', async () => {
    const res = await fetch(`${url}/v2/tagged/tags/list?n=0`);
    assert.deepEqual(((await res.json()) as { tags: string[] }).tags, []);
    assert.equal(res.headers.get('link'), null);
    assert.equal((await fetch(`${url}/v2/tagged/tags/list?n=-1`)).status, 400);
    const unknown = await fetch(`${url}/v2/nobody/tags/list`);
    assert.equal(unknown.status, 404);
    assert.equal(await errorCode(unknown), 'NAME_UNKNOWN');
  });
});

describe('referrers', () => {
  let subject = '';
  before(async () => {
    const image = await pushImageBlobs(url, 'signed', ['image layer']);
    subject = digestOf(image);
    await putManifest(url, 'signed', 'v1', image);
  });

  async function pushReferrer(
    artifactType: string,
    payload: string,
    extra: Record<string, unknown> = {},
  ): Promise<Response> {
    await pushBlob(url, 'signed', '{}');
    await pushBlob(url, 'signed', payload);
    const manifest = imageManifest(
      descriptorOf('{}', 'application/vnd.oci.empty.v1+json'),
      [descriptorOf(payload, 'application/octet-stream')],
      { artifactType, subject: { mediaType: OCI_MANIFEST, digest: subject, size: 1 }, ...extra },
    );
    return putManifest(url, 'signed', digestOf(manifest), manifest);
  }

  test('manifests with a subject get OCI-Subject and are listed, filterable by artifactType', async () => {
    const sig = await pushReferrer('application/vnd.example.sig', 'signature', {
      annotations: { who: 'me' },
    });
    assert.equal(sig.status, 201);
    assert.equal(sig.headers.get('oci-subject'), subject);
    await pushReferrer('application/vnd.example.sbom', 'sbom');
    let res = await fetch(`${url}/v2/signed/referrers/${subject}`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), OCI_INDEX);
    assert.equal(res.headers.get('oci-filters-applied'), null);
    const all = (await res.json()) as {
      mediaType: string;
      manifests: Array<{ artifactType: string; annotations?: Record<string, string> }>;
    };
    assert.equal(all.mediaType, OCI_INDEX);
    assert.deepEqual(all.manifests.map((m) => m.artifactType).sort(), [
      'application/vnd.example.sbom',
      'application/vnd.example.sig',
    ]);
    assert.deepEqual(all.manifests.find((m) => m.artifactType.endsWith('sig'))!.annotations, { who: 'me' });
    res = await fetch(`${url}/v2/signed/referrers/${subject}?artifactType=application/vnd.example.sbom`);
    assert.equal(res.headers.get('oci-filters-applied'), 'artifactType');
    const filtered = (await res.json()) as { manifests: Array<{ artifactType: string }> };
    assert.deepEqual(
      filtered.manifests.map((m) => m.artifactType),
      ['application/vnd.example.sbom'],
    );
  });

  test('a subject that does not exist is allowed; no referrers is an empty index; bad digests are 400', async () => {
    const missing = digestOf('not pushed');
    await pushBlob(url, 'signed', '{}');
    const manifest = imageManifest(descriptorOf('{}', 'application/vnd.oci.empty.v1+json'), [], {
      artifactType: 'application/x.early',
      subject: { mediaType: OCI_MANIFEST, digest: missing, size: 10 },
    });
    const res = await putManifest(url, 'signed', 'early', manifest);
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('oci-subject'), missing);
    const list = (await (await fetch(`${url}/v2/signed/referrers/${missing}`)).json()) as {
      manifests: unknown[];
    };
    assert.equal(list.manifests.length, 1);
    const none = await fetch(`${url}/v2/nobody/referrers/${digestOf('x')}`);
    assert.equal(none.status, 200);
    assert.deepEqual(((await none.json()) as { manifests: unknown[] }).manifests, []);
    const bad = await fetch(`${url}/v2/signed/referrers/sha256:zz`);
    assert.equal(bad.status, 400);
    assert.equal(await errorCode(bad), 'DIGEST_INVALID');
  });
});
