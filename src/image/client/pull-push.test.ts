import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { sha256Digest } from '../digest.js';
import { ImageStore } from '../image-store.js';
import { ociArchitecture } from '../oci.js';
import { buildTar, makeTempDir, type TempDir } from '../test-fixtures.js';
import { CredentialStore } from './credentials.js';
import { DOCKER_CONFIG, DOCKER_LAYER_GZIP, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST } from './manifest.js';
import type { TransferProgress } from './progress.js';
import { FakeRegistry } from './test-registry.js';
import { ImageTransferService, resolveOrPull, transferServiceFor } from './transfer-service.js';

interface Setup {
  tmp: TempDir;
  registry: FakeRegistry;
  service(name: string, options?: { credentials?: CredentialStore }): Promise<ImageTransferService>;
  /** Imports a two-file image as `ref` into the store of `service`. */
  importImage(service: ImageTransferService, ref: string, text?: string): Promise<string>;
}

async function setup(registry: FakeRegistry): Promise<Setup> {
  const tmp = await makeTempDir('berth-client-');
  await registry.start();
  return {
    tmp,
    registry,
    async service(name, options = {}) {
      const images = await ImageStore.open(join(tmp.path, name));
      return new ImageTransferService(images, {
        insecureRegistries: [registry.host],
        credentials: options.credentials ?? new CredentialStore(join(tmp.path, `${name}-auth.json`)),
      });
    },
    async importImage(service, ref, text = 'hello') {
      const tar = join(tmp.path, `${sha256Digest(ref + text).slice(7, 19)}.tar`);
      await writeFile(tar, await buildTar([{ name: 'etc/' }, { name: 'etc/greeting', body: text }]));
      return (await service.images.importRootfs(tar, ref)).manifestDigest;
    },
  };
}

describe('pull and push against a registry', () => {
  let s: Setup;
  beforeEach(async () => {
    s = await setup(new FakeRegistry());
  });
  afterEach(async () => {
    await s.registry.stop();
    await s.tmp.cleanup();
  });

  it('pushes an image and pulls it into another store, byte for byte', async () => {
    const a = await s.service('a');
    const ref = `${s.registry.host}/team/app:1`;
    const digest = await s.importImage(a, ref);
    const pushed = await a.push({ reference: ref });
    assert.equal(pushed.digest, digest);
    assert.deepEqual(
      pushed.blobs.map((b) => b.action),
      ['uploaded', 'uploaded'],
    );
    const b = await s.service('b');
    const progress: TransferProgress[] = [];
    const pulled = await b.pull({ reference: ref, onProgress: (p) => progress.push(p) });
    assert.equal(pulled.reference, ref);
    assert.equal(pulled.digest, digest);
    assert.deepEqual(await b.images.content.read(digest), await a.images.content.read(digest));
    assert.equal((await b.images.resolve(ref)).manifestDigest, digest);
    assert.deepEqual(progress.filter((p) => p.action === 'done').length, 2);
  });

  it('sends nothing the repository has: a second push is HEADs and the manifest only', async () => {
    const a = await s.service('a');
    const ref = `${s.registry.host}/team/app:1`;
    await s.importImage(a, ref);
    await a.push({ reference: ref });
    s.registry.log.length = 0;
    const again = await a.push({ reference: ref });
    assert.deepEqual(
      again.blobs.map((b) => b.action),
      ['exists', 'exists'],
    );
    assert.equal(s.registry.count(/^(POST|PATCH)|^PUT .*blobs/), 0, s.registry.log.join('\n'));
    assert.equal(s.registry.count(/^HEAD .*\/blobs\//), 2);
  });

  it('mounts blobs from another repository of the same registry instead of uploading them', async () => {
    const a = await s.service('a');
    const first = `${s.registry.host}/team/app:1`;
    await s.importImage(a, first);
    await a.push({ reference: first });
    await a.images.tag(first, `${s.registry.host}/other/copy:2`);
    s.registry.log.length = 0;
    const pushed = await a.push({ reference: `${s.registry.host}/other/copy:2` });
    assert.deepEqual(
      pushed.blobs.map((b) => b.action),
      ['mounted', 'mounted'],
    );
    assert.equal(s.registry.count(/mount=sha256.*from=team%2Fapp/), 2, s.registry.log.join('\n'));
    assert.equal(s.registry.count(/^PUT .*blobs/), 0);
  });

  it('uploads big blobs in PATCH chunks', async () => {
    const images = await ImageStore.open(join(s.tmp.path, 'chunky'));
    const a = new ImageTransferService(images, {
      insecureRegistries: [s.registry.host],
      chunks: { threshold: 100, size: 1000 },
      credentials: new CredentialStore(join(s.tmp.path, 'none.json')),
    });
    const ref = `${s.registry.host}/team/big:1`;
    await s.importImage(a, ref, randomBytes(6000).toString('base64'));
    await a.push({ reference: ref });
    assert.ok(s.registry.count(/^PATCH /) >= 3, s.registry.log.join('\n'));
    const b = await s.service('b');
    const pulled = await b.pull({ reference: ref });
    const layer = pulled.image.layers[0];
    assert.ok(layer);
    assert.deepEqual(await b.images.content.read(layer.digest), await images.content.read(layer.digest));
  });

  it('shares one pull between callers that want the same image at the same time', async () => {
    const a = await s.service('a');
    const ref = `${s.registry.host}/team/app:1`;
    await s.importImage(a, ref);
    await a.push({ reference: ref });
    s.registry.log.length = 0;
    const b = await s.service('b');
    const seen = [0, 0];
    const [one, two] = await Promise.all([
      b.pull({ reference: ref, onProgress: () => seen[0]!++ }),
      b.pull({ reference: ref, onProgress: () => seen[1]!++ }),
    ]);
    assert.equal(one, two);
    assert.equal(s.registry.count(/^GET .*\/manifests\//), 1);
    assert.equal(s.registry.count(/^GET .*\/blobs\//), 2);
    assert.ok(seen[0]! > 0 && seen[1]! > 0, 'both callers see progress');
  });

  it('pulls on demand only references that name a registry', async () => {
    const a = await s.service('a');
    const ref = `${s.registry.host}/team/app:1`;
    await s.importImage(a, ref);
    await a.push({ reference: ref });
    const images = await ImageStore.open(join(s.tmp.path, 'agent'));
    process.env.BERTH_INSECURE_REGISTRIES = s.registry.host; // read when the store's service is made
    try {
      await assert.rejects(resolveOrPull(images, 'busybox:latest'), { code: 'ERR_IMAGE_NOT_FOUND' });
      assert.equal(transferServiceFor(images), transferServiceFor(images));
      const image = await resolveOrPull(images, ref);
      assert.equal(image.reference, ref);
    } finally {
      delete process.env.BERTH_INSECURE_REGISTRIES;
    }
  });

  it('rejects a blob damaged in transit and stores nothing of it', async () => {
    const a = await s.service('a');
    const ref = `${s.registry.host}/team/app:1`;
    await s.importImage(a, ref);
    await a.push({ reference: ref });
    const layer = (await a.images.resolve(ref)).layers[0]!;
    s.registry.corrupt.add(layer.digest);
    const b = await s.service('b');
    await assert.rejects(b.pull({ reference: ref }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'ERR_DIGEST_MISMATCH');
      assert.match(err.message, /damaged/);
      assert.doesNotMatch(err.message, /\n/);
      return true;
    });
    assert.equal(await b.images.content.has(layer.digest), false);
    await assert.rejects(b.images.resolve(ref), { code: 'ERR_IMAGE_NOT_FOUND' });
  });

  it('rejects a manifest whose bytes do not match the Docker-Content-Digest', async () => {
    const a = await s.service('a');
    const ref = `${s.registry.host}/team/app:1`;
    await s.importImage(a, ref);
    await a.push({ reference: ref });
    s.registry.lieAboutManifestDigest = sha256Digest('something else');
    const b = await s.service('b');
    await assert.rejects(b.pull({ reference: ref }), { code: 'ERR_DIGEST_MISMATCH' });
  });

  it('says in one line that a tag is unknown', async () => {
    const b = await s.service('b');
    await assert.rejects(b.pull({ reference: `${s.registry.host}/team/app:nope` }), {
      code: 'ERR_MANIFEST_UNKNOWN',
      message: `manifest for ${s.registry.host}/team/app:nope not found in the registry: check the repository name and the tag`,
    });
  });

  it('refuses references without a registry host', async () => {
    const b = await s.service('b');
    assert.throws(() => b.pull({ reference: 'busybox' }), { code: 'ERR_INVALID_REGISTRY_REFERENCE' });
    await assert.rejects(b.push({ reference: 'team/app:1' }), /name the registry host/);
  });

  it('pulls a Docker manifest list: picks this platform and unpacks the docker gzip layer', async () => {
    const layerTar = await buildTar([{ name: 'hello.txt', body: 'from docker' }]);
    const layer = await buildTar([{ name: 'hello.txt', body: 'from docker' }], { gzip: true });
    const config = Buffer.from(
      JSON.stringify({
        architecture: ociArchitecture(process.arch),
        os: 'linux',
        config: { Cmd: ['/hello'] },
        rootfs: { type: 'layers', diff_ids: [sha256Digest(layerTar)] },
      }),
    );
    const r = s.registry;
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: DOCKER_MANIFEST,
        config: { mediaType: DOCKER_CONFIG, size: config.length, digest: r.putBlob('lib/hello', config) },
        layers: [{ mediaType: DOCKER_LAYER_GZIP, size: layer.length, digest: r.putBlob('lib/hello', layer) }],
      }),
    );
    const manifestDigest = r.putManifest('lib/hello', 'amd', DOCKER_MANIFEST, manifest);
    const entry = (architecture: string) => ({
      mediaType: DOCKER_MANIFEST,
      size: manifest.length,
      digest: architecture === ociArchitecture(process.arch) ? manifestDigest : sha256Digest('other'),
      platform: { os: 'linux', architecture },
    });
    const list = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: DOCKER_MANIFEST_LIST,
        manifests: [entry('not-this-arch'), entry(ociArchitecture(process.arch))],
      }),
    );
    const listDigest = r.putManifest('lib/hello', 'v1', DOCKER_MANIFEST_LIST, list);
    const b = await s.service('b');
    const pulled = await b.pull({ reference: `${r.host}/lib/hello:v1` });
    assert.equal(pulled.digest, manifestDigest);
    assert.deepEqual(pulled.image.config.Cmd, ['/hello']);
    assert.ok(await b.images.content.has(listDigest), 'the index bytes are kept');
    const [dir] = await b.images.prepareLayers(pulled.image);
    assert.equal(await readFile(join(dir!, 'hello.txt'), 'utf8'), 'from docker');
  });
});

describe('registry auth', () => {
  for (const scheme of ['basic', 'bearer'] as const) {
    describe(scheme, () => {
      let s: Setup;
      beforeEach(async () => {
        s = await setup(new FakeRegistry({ auth: { scheme, username: 'ci', password: 's3cret' } }));
      });
      afterEach(async () => {
        await s.registry.stop();
        await s.tmp.cleanup();
      });

      it('fails with one clear line without credentials, and works with stored ones', async () => {
        const a = await s.service('a');
        const ref = `${s.registry.host}/team/app:1`;
        await s.importImage(a, ref);
        await assert.rejects(a.push({ reference: ref }), {
          code: 'ERR_REGISTRY_AUTH',
          message: new RegExp(`log in with \`berth login ${s.registry.host}\``),
        });
        const creds = new CredentialStore(join(s.tmp.path, 'auth.json'));
        await creds.set(s.registry.host, { username: 'ci', password: 's3cret' });
        const withLogin = await s.service('a', { credentials: creds });
        await withLogin.push({ reference: ref });
        const b = await s.service('b', { credentials: creds });
        assert.equal((await b.pull({ reference: ref })).reference, ref);
        if (scheme === 'bearer') {
          assert.ok(s.registry.tokenScopes.includes('repository:team/app:pull,push'));
          assert.ok(s.registry.tokenScopes.includes('repository:team/app:pull'));
        }
      });

      it('uses credentials sent with the request over stored ones', async () => {
        const b = await s.service('b');
        await assert.rejects(
          b.pull({
            reference: `${s.registry.host}/team/app:1`,
            credentials: { username: 'ci', password: 'wrong' },
          }),
          { code: 'ERR_REGISTRY_AUTH' },
        );
        await assert.rejects(
          b.pull({
            reference: `${s.registry.host}/team/app:1`,
            credentials: { username: 'ci', password: 's3cret' },
          }),
          { code: 'ERR_MANIFEST_UNKNOWN' },
        );
      });
    });
  }
});
