import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MEDIA_TYPE_INDEX, MEDIA_TYPE_MANIFEST } from '../oci.js';
import { blobsOf, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, parseManifest, selectPlatform } from './manifest.js';

const D = (c: string) => `sha256:${c.repeat(64)}`;
const desc = (c: string, size = 1) => ({ mediaType: 'x', digest: D(c), size });
const bytes = (v: unknown) => Buffer.from(JSON.stringify(v));

describe('manifests from a registry', () => {
  it('takes the media type from the document, else from Content-Type, else from the shape', () => {
    const m = { schemaVersion: 2, config: desc('a'), layers: [desc('b')] };
    assert.equal(
      (
        parseManifest(bytes({ ...m, mediaType: DOCKER_MANIFEST }), MEDIA_TYPE_MANIFEST) as {
          mediaType: string;
        }
      ).mediaType,
      DOCKER_MANIFEST,
    );
    assert.equal(
      (parseManifest(bytes(m), `${DOCKER_MANIFEST}; charset=utf-8`) as { mediaType: string }).mediaType,
      DOCKER_MANIFEST,
    );
    assert.equal(
      (parseManifest(bytes(m), 'application/json') as { mediaType: string }).mediaType,
      MEDIA_TYPE_MANIFEST,
    );
    const list = parseManifest(bytes({ schemaVersion: 2, manifests: [desc('c')] }), undefined);
    assert.equal(typeof list === 'object' && list.kind, 'index');
    assert.equal(
      (parseManifest(bytes({ schemaVersion: 2, manifests: [] }), DOCKER_MANIFEST_LIST) as { kind: string })
        .kind,
      'index',
    );
    assert.equal(
      (
        parseManifest(bytes({ schemaVersion: 2, mediaType: MEDIA_TYPE_INDEX, manifests: [] }), undefined) as {
          kind: string;
        }
      ).kind,
      'index',
    );
  });

  it('gives a reason for what it cannot use', () => {
    assert.equal(parseManifest(Buffer.from('nope'), undefined), 'it is not JSON');
    assert.match(parseManifest(bytes({ schemaVersion: 1 }), undefined) as string, /schema version 1/);
    assert.match(
      parseManifest(bytes({ schemaVersion: 2, mediaType: 'text/plain' }), undefined) as string,
      /not supported/,
    );
    assert.match(
      parseManifest(
        bytes({ schemaVersion: 2, config: { ...desc('a'), digest: 'md5:x' }, layers: [] }),
        undefined,
      ) as string,
      /config/,
    );
    assert.match(
      parseManifest(
        bytes({ schemaVersion: 2, config: desc('a'), layers: [{ ...desc('b'), size: -1 }] }),
        undefined,
      ) as string,
      /layer/,
    );
  });

  it('picks the platform, preferring an exact variant', () => {
    const entry = (c: string, architecture: string, variant?: string) => ({
      ...desc(c),
      platform: { os: 'linux', architecture, ...(variant ? { variant } : {}) },
    });
    const list = [entry('a', 'amd64'), entry('b', 'arm64'), entry('c', 'arm64', 'v8'), { ...desc('d') }];
    assert.equal(selectPlatform(list, { os: 'linux', architecture: 'amd64' })?.digest, D('a'));
    assert.equal(selectPlatform(list, { os: 'linux', architecture: 'arm64', variant: 'v8' })?.digest, D('c'));
    assert.equal(selectPlatform(list, { os: 'linux', architecture: 'arm64', variant: 'v9' })?.digest, D('b'));
    assert.equal(selectPlatform(list, { os: 'windows', architecture: 'amd64' }), undefined);
  });

  it('lists each blob once, config first', () => {
    const m = { schemaVersion: 2 as const, config: desc('a'), layers: [desc('b'), desc('b'), desc('c')] };
    assert.deepEqual(
      blobsOf(m).map((d) => d.digest),
      [D('a'), D('b'), D('c')],
    );
  });
});
