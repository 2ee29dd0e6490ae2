import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatTagsLink, parseRegistryPath, splitUrl } from './http-paths.js';

test('registry paths with slashes in the name', () => {
  assert.deepEqual(parseRegistryPath('/v2/'), { kind: 'base' });
  assert.deepEqual(parseRegistryPath('/v2'), { kind: 'base' });
  assert.deepEqual(parseRegistryPath('/v2/a/b/manifests/latest'), {
    kind: 'manifest',
    name: 'a/b',
    reference: 'latest',
  });
  assert.deepEqual(parseRegistryPath('/v2/a/blobs/uploads/'), { kind: 'uploads', name: 'a' });
  assert.deepEqual(parseRegistryPath('/v2/a/blobs/uploads'), { kind: 'uploads', name: 'a' });
  assert.deepEqual(parseRegistryPath('/v2/a/b/blobs/uploads/xyz'), {
    kind: 'upload',
    name: 'a/b',
    id: 'xyz',
  });
  assert.deepEqual(parseRegistryPath('/v2/a/blobs/sha256%3Aab'), {
    kind: 'blob',
    name: 'a',
    digest: 'sha256:ab',
  });
  assert.deepEqual(parseRegistryPath('/v2/x/blobs/uploads/blobs/d'), {
    kind: 'blob',
    name: 'x/blobs/uploads',
    digest: 'd',
  });
  assert.deepEqual(parseRegistryPath('/v2/a/tags/list'), { kind: 'tags', name: 'a' });
  assert.deepEqual(parseRegistryPath('/v2/a/referrers/sha256:x'), {
    kind: 'referrers',
    name: 'a',
    digest: 'sha256:x',
  });
  assert.equal(parseRegistryPath('/v2/a/unknown'), undefined);
  assert.equal(parseRegistryPath('/v3/a/tags/list'), undefined);
});

test('query strings and Link headers', () => {
  const { path, query } = splitUrl('/v2/a/tags/list?n=2&last=b');
  assert.equal(path, '/v2/a/tags/list');
  assert.equal(query.get('n'), '2');
  assert.equal(formatTagsLink('a/b', 2, 'v1'), '</v2/a/b/tags/list?n=2&last=v1>; rel="next"');
});
