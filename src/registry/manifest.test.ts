import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManifestInvalidError } from './errors.js';
import {
  DOCKER_MANIFEST,
  DOCKER_MANIFEST_LIST,
  OCI_INDEX,
  OCI_MANIFEST,
  bareMediaType,
  parseManifest,
} from './manifest.js';

const d = (c: string): string => `sha256:${c.repeat(64)}`;
const desc = (c: string, mediaType = 'application/octet-stream', size = 1) => ({
  mediaType,
  digest: d(c),
  size,
});
const bytes = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));

const image = {
  schemaVersion: 2,
  mediaType: OCI_MANIFEST,
  config: desc('c', 'application/vnd.oci.image.config.v1+json'),
  layers: [desc('1'), desc('2')],
};

test('an OCI image manifest: blobs, artifactType from the config', () => {
  const parsed = parseManifest(bytes(image), OCI_MANIFEST);
  assert.equal(parsed.kind, 'manifest');
  assert.deepEqual(
    parsed.blobs.map((b) => b.digest),
    [d('c'), d('1'), d('2')],
  );
  assert.equal(parsed.artifactType, 'application/vnd.oci.image.config.v1+json');
  assert.equal(parsed.subject, undefined);
});

test('subject, artifactType and annotations are kept', () => {
  const parsed = parseManifest(
    bytes({
      ...image,
      artifactType: 'application/x.sbom',
      subject: desc('e', OCI_MANIFEST),
      annotations: { a: 'b' },
    }),
    `${OCI_MANIFEST}; charset=utf-8`,
  );
  assert.equal(parsed.subject, d('e'));
  assert.equal(parsed.artifactType, 'application/x.sbom');
  assert.deepEqual(parsed.annotations, { a: 'b' });
});

test('indexes and Docker lists: children are manifests', () => {
  for (const type of [OCI_INDEX, DOCKER_MANIFEST_LIST]) {
    const parsed = parseManifest(
      bytes({ schemaVersion: 2, mediaType: type, manifests: [desc('f', OCI_MANIFEST)] }),
      type,
    );
    assert.equal(parsed.kind, 'index');
    assert.deepEqual(
      parsed.manifests.map((m) => m.digest),
      [d('f')],
    );
    assert.deepEqual(parsed.blobs, []);
    assert.equal(parsed.artifactType, undefined);
  }
});

test('the media type comes from the body or the Content-Type; they must agree', () => {
  const noType: Record<string, unknown> = { ...image };
  delete noType.mediaType;
  assert.equal(parseManifest(bytes(noType), OCI_MANIFEST).mediaType, OCI_MANIFEST);
  assert.equal(
    parseManifest(bytes({ ...image, mediaType: DOCKER_MANIFEST }), undefined).mediaType,
    DOCKER_MANIFEST,
  );
  assert.equal(parseManifest(bytes(image), 'application/json').mediaType, OCI_MANIFEST);
  assert.throws(() => parseManifest(bytes(image), DOCKER_MANIFEST), ManifestInvalidError);
  assert.throws(() => parseManifest(bytes(noType), 'application/json'), ManifestInvalidError);
  assert.throws(
    () => parseManifest(bytes({ ...image, mediaType: 'application/x-other' }), undefined),
    ManifestInvalidError,
  );
});

test('CVE-2021-41190: a manifest with "manifests", an index with "layers" or "config" are refused', () => {
  assert.throws(
    () => parseManifest(bytes({ ...image, manifests: [] }), OCI_MANIFEST),
    /must not have a "manifests"/,
  );
  const index = { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] };
  assert.throws(() => parseManifest(bytes({ ...index, layers: [] }), OCI_INDEX), /must not have "layers"/);
  assert.throws(() => parseManifest(bytes({ ...index, config: desc('c') }), OCI_INDEX), ManifestInvalidError);
  // The same body sent as the other type: the body's mediaType contradicts the header.
  assert.throws(() => parseManifest(bytes(image), OCI_INDEX), /contradicts/);
});

test('malformed manifests', () => {
  assert.throws(() => parseManifest(Buffer.from('{'), OCI_MANIFEST), /not valid JSON/);
  assert.throws(() => parseManifest(bytes([1]), OCI_MANIFEST), /JSON object/);
  assert.throws(() => parseManifest(bytes({ ...image, schemaVersion: 1 }), OCI_MANIFEST), /schemaVersion/);
  assert.throws(
    () => parseManifest(bytes({ ...image, layers: [{ digest: 'x' }] }), OCI_MANIFEST),
    /mediaType, digest and size/,
  );
  assert.throws(
    () => parseManifest(bytes({ ...image, layers: [{ ...desc('1'), digest: 'sha256:zz' }] }), OCI_MANIFEST),
    /unusable digest/,
  );
  assert.throws(
    () => parseManifest(bytes({ ...image, layers: [{ ...desc('1'), size: -1 }] }), OCI_MANIFEST),
    /invalid size/,
  );
  assert.throws(() => parseManifest(bytes({ ...image, annotations: { a: 1 } }), OCI_MANIFEST), /annotations/);
});

test('foreign layers with urls need not be in the registry', () => {
  const foreign = {
    ...desc('f', 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip'),
    urls: ['https://x'],
  };
  const parsed = parseManifest(
    bytes({ ...image, mediaType: DOCKER_MANIFEST, layers: [foreign, desc('1')] }),
    DOCKER_MANIFEST,
  );
  assert.deepEqual(
    parsed.blobs.map((b) => b.digest),
    [d('c'), d('1')],
  );
});

test('bareMediaType drops parameters', () => {
  assert.equal(bareMediaType('Application/JSON; charset=utf-8'), 'application/json');
  assert.equal(bareMediaType(''), undefined);
});
