import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmod,
  chown,
  link,
  lstat,
  mkdir,
  readdir,
  readFile,
  readlink,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeNode } from './special-files.js';
import { buildTar, isRoot, makeTempDir, type TempDir } from './test-fixtures.js';
import { ImageStore, MEDIA_TYPE_LAYER_GZIP, type OciImageConfigFile, type OciManifest } from './index.js';

interface TreeEntry {
  path: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  content?: string;
  target?: string;
  rdev?: number;
}

/** Everything about a tree that a layer must carry, sorted by path. */
async function snapshot(root: string, dir = ''): Promise<TreeEntry[]> {
  const out: TreeEntry[] = [];
  for (const name of (await readdir(join(root, dir))).sort()) {
    const path = dir === '' ? name : `${dir}/${name}`;
    const stats = await lstat(join(root, path));
    const type = stats.isDirectory()
      ? 'dir'
      : stats.isFile()
        ? 'file'
        : stats.isSymbolicLink()
          ? 'symlink'
          : stats.isFIFO()
            ? 'fifo'
            : stats.isCharacterDevice()
              ? 'char'
              : 'other';
    const entry: TreeEntry = {
      path,
      type,
      mode: stats.mode & 0o7777,
      uid: stats.uid,
      gid: stats.gid,
      mtime: Math.floor(stats.mtimeMs / 1000),
    };
    if (type === 'symlink') entry.mode = 0;
    if (type === 'file')
      entry.content = createHash('sha256')
        .update(await readFile(join(root, path)))
        .digest('hex');
    if (type === 'symlink') entry.target = await readlink(join(root, path));
    if (type === 'char') entry.rdev = stats.rdev;
    out.push(entry);
    if (type === 'dir') out.push(...(await snapshot(root, path)));
  }
  return out;
}

/** A small root file system with one of everything. */
async function makeRootfs(root: string): Promise<void> {
  await mkdir(join(root, 'bin'), { recursive: true });
  await mkdir(join(root, 'etc'));
  await mkdir(join(root, 'empty'), { mode: 0o700 });
  await chmod(join(root, 'empty'), 0o700);
  await writeFile(join(root, 'bin/tool'), '#!/bin/sh\necho hi\n');
  await chmod(join(root, 'bin/tool'), 0o755);
  await link(join(root, 'bin/tool'), join(root, 'bin/tool-hard'));
  await symlink('../bin/tool', join(root, 'etc/tool-link'));
  await symlink('/nowhere', join(root, 'etc/dangling'));
  await writeFile(join(root, 'etc/config'), 'a=1\n', { mode: 0o640 });
  await chmod(join(root, 'etc/config'), 0o640);
  await makeNode(join(root, 'etc/fifo'), 'p');
  if (isRoot()) {
    await writeFile(join(root, 'bin/suid'), 'x');
    await chmod(join(root, 'bin/suid'), 0o4755);
    await chown(join(root, 'etc/config'), 1234, 5678);
    await makeNode(join(root, 'etc/null'), 'c', 1, 3);
  }
  const old = new Date('2021-06-01T00:00:00Z');
  await utimes(join(root, 'etc/config'), old, old);
  await utimes(join(root, 'etc'), old, old);
}

describe('ImageStore', () => {
  let tmp: TempDir;
  let store: ImageStore;
  let rootfs: string;
  const now = new Date('2024-05-06T07:08:09.000Z');

  before(async () => {
    tmp = await makeTempDir();
    store = await ImageStore.open(join(tmp.path, 'images'));
    rootfs = join(tmp.path, 'rootfs');
    await makeRootfs(rootfs);
  });
  after(() => tmp.cleanup());

  it('creates an OCI image layout', async () => {
    assert.deepEqual(JSON.parse(await readFile(join(store.root, 'oci-layout'), 'utf8')), {
      imageLayoutVersion: '1.0.0',
    });
    assert.deepEqual((await readdir(store.root)).sort(), ['blobs', 'ingest', 'layers', 'oci-layout']);
  });

  it('imports a directory and unpacks the same tree', async () => {
    const image = await store.importRootfs(rootfs, 'demo', { now });
    assert.equal(image.reference, 'demo:latest');
    assert.equal(image.created, now.toISOString());
    assert.deepEqual(image.config, {
      Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
      Cmd: ['sh'],
    });
    assert.equal(image.layers.length, 1);
    assert.equal(image.layers[0]?.mediaType, MEDIA_TYPE_LAYER_GZIP);

    const [layerDir, ...more] = await store.prepareLayers(image);
    assert.ok(layerDir !== undefined && more.length === 0);
    assert.deepEqual(await snapshot(layerDir), await snapshot(rootfs));
    const tool = await lstat(join(layerDir, 'bin/tool'));
    assert.equal((await lstat(join(layerDir, 'bin/tool-hard'))).ino, tool.ino, 'hard link shares the inode');
    assert.equal(tool.nlink, 2);
  });

  it('writes a valid config, manifest and index', async () => {
    const image = await store.resolve('demo');
    const manifest = await store.content.readJSON<OciManifest>(image.manifestDigest);
    assert.equal(manifest.schemaVersion, 2);
    assert.equal(manifest.mediaType, 'application/vnd.oci.image.manifest.v1+json');
    assert.equal(manifest.config.mediaType, 'application/vnd.oci.image.config.v1+json');
    assert.equal(manifest.layers[0]?.digest, image.layers[0]?.digest);
    const config = await store.content.readJSON<OciImageConfigFile>(image.configDigest);
    assert.equal(config.os, 'linux');
    assert.equal(config.architecture, process.arch === 'x64' ? 'amd64' : process.arch);
    assert.deepEqual(config.rootfs, { type: 'layers', diff_ids: [image.layers[0]?.diffId] });
    assert.deepEqual(config.history, [
      { created: now.toISOString(), created_by: 'berth image import rootfs' },
    ]);
    const blobSizes =
      (await store.content.size(image.manifestDigest)) +
      manifest.config.size +
      (manifest.layers[0]?.size ?? 0);
    assert.equal(image.size, blobSizes);
    const index = JSON.parse(await readFile(join(store.root, 'index.json'), 'utf8')) as {
      manifests: Array<{ annotations: Record<string, string> }>;
    };
    assert.deepEqual(
      index.manifests.map((m) => m.annotations['org.opencontainers.image.ref.name']),
      ['demo:latest'],
    );
  });

  it('is reproducible: the same tree and time give the same digests', async () => {
    const first = await store.resolve('demo:latest');
    const again = await store.importRootfs(rootfs, 'demo:again', { now });
    assert.equal(again.manifestDigest, first.manifestDigest);
    assert.equal(again.layers[0]?.digest, first.layers[0]?.digest);
  });

  it('leaves sockets out of the layer', async () => {
    const dir = join(tmp.path, 'with-socket');
    await mkdir(dir);
    await writeFile(join(dir, 'keep'), 'k');
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(join(dir, 'sock'), resolve));
    try {
      const image = await store.importRootfs(dir, 'sock:1', { now });
      const [layerDir] = await store.prepareLayers(image);
      assert.deepEqual(await readdir(layerDir ?? ''), ['keep']);
    } finally {
      server.close();
    }
  });

  it('imports a tar and a tar.gz made by GNU tar', async () => {
    const plain = join(tmp.path, 'rootfs.tar');
    const gzipped = join(tmp.path, 'rootfs.tar.gz');
    execFileSync('tar', ['-C', rootfs, '-cf', plain, '.']);
    execFileSync('tar', ['-C', rootfs, '-czf', gzipped, '.']);
    const expected = await snapshot(rootfs);
    for (const [file, tag] of [
      [plain, 'plain'],
      [gzipped, 'gzip'],
    ] as const) {
      const image = await store.importRootfs(file, `fromtar:${tag}`, { now, config: { Cmd: ['/bin/tool'] } });
      assert.deepEqual(image.config.Cmd, ['/bin/tool']);
      assert.equal(image.config.Env?.length, 1, 'the default PATH stays');
      const [layerDir] = await store.prepareLayers(image);
      const tree = await snapshot(layerDir ?? '');
      assert.deepEqual(tree, expected, `tree from ${tag}`);
    }
    const [a, b] = [await store.resolve('fromtar:plain'), await store.resolve('fromtar:gzip')];
    assert.equal(
      a.layers[0]?.diffId,
      b.layers[0]?.diffId,
      'compression of the source does not change the layer',
    );
  });

  it('normalizes names of an imported tar (leading "/" and "./")', async () => {
    const file = join(tmp.path, 'abs.tar');
    await writeFile(
      file,
      await buildTar([
        { name: '/abs/', mode: 0o755 },
        { name: '/abs/file', body: 'A' },
        { name: './rel', body: 'R' },
      ]),
    );
    const image = await store.importRootfs(file, 'abs:1', { now });
    const [layerDir] = await store.prepareLayers(image);
    assert.equal(await readFile(join(layerDir ?? '', 'abs/file'), 'utf8'), 'A');
    assert.equal(await readFile(join(layerDir ?? '', 'rel'), 'utf8'), 'R');
  });

  it('rejects hostile tars on import and keeps nothing of them', async () => {
    const outside = join(tmp.path, 'x');
    await mkdir(outside);
    const hostile = {
      dotdot: [{ name: '../evil', body: 'pwned' }],
      symlink: [
        { name: 'a', type: 'symlink' as const, linkname: outside },
        { name: 'a/f', body: 'pwned' },
      ],
      hardlink: [{ name: 'pw', type: 'link' as const, linkname: '../../etc/passwd' }],
    };
    const before = await readdir(join(store.root, 'blobs', 'sha256'));
    for (const [name, entries] of Object.entries(hostile)) {
      const file = join(tmp.path, `${name}.tar`);
      await writeFile(file, await buildTar(entries));
      await assert.rejects(store.importRootfs(file, `hostile:${name}`), { code: 'ERR_BAD_LAYER' }, name);
      await assert.rejects(store.resolve(`hostile:${name}`), { code: 'ERR_IMAGE_NOT_FOUND' });
    }
    assert.deepEqual(await readdir(outside), []);
    assert.deepEqual(await readdir(join(store.root, 'blobs', 'sha256')), before, 'no blob was added');
    assert.deepEqual(await readdir(join(store.root, 'ingest')), []);
    await assert.rejects(lstat(join(tmp.path, 'evil')), { code: 'ENOENT' });
  });

  it('rejects a source file that is not a tar archive', async () => {
    const file = join(tmp.path, 'notes.txt');
    await writeFile(file, 'just some text, not a tar archive\n'.repeat(40));
    await assert.rejects(store.importRootfs(file, 'text:1'), { code: 'ERR_BAD_LAYER' });
    assert.deepEqual(await readdir(join(store.root, 'ingest')), []);
  });

  it('says which source path is missing', async () => {
    const missing = join(tmp.path, 'no-such-dir');
    await assert.rejects(store.importRootfs(missing, 'x:1'), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'ERR_IMPORT_SOURCE_NOT_FOUND');
      assert.ok(err.message.includes(missing));
      return true;
    });
  });

  it('refuses to import under a digest reference', async () => {
    await assert.rejects(store.importRootfs(rootfs, `x@sha256:${'0'.repeat(64)}`), {
      code: 'ERR_INVALID_REFERENCE',
    });
  });

  it('replaces a tag that is imported again', async () => {
    const dir = join(tmp.path, 'versions');
    await mkdir(dir);
    await writeFile(join(dir, 'version'), '1');
    const first = await store.importRootfs(dir, 'app:stable', { now });
    await writeFile(join(dir, 'version'), '2');
    const second = await store.importRootfs(dir, 'app:stable', { now });
    assert.notEqual(second.manifestDigest, first.manifestDigest);
    const listed = (await store.list()).filter((s) => s.repository === 'app');
    assert.deepEqual(
      listed.map((s) => [s.tag, s.digest]),
      [['stable', second.manifestDigest]],
    );
    assert.equal((await store.resolve('app:stable')).manifestDigest, second.manifestDigest);
  });

  it('lists images sorted by repository and tag', async () => {
    const dir = join(tmp.path, 'versions');
    await Promise.all([
      store.importRootfs(dir, 'zeta:1', { now }),
      store.importRootfs(dir, 'alpha:b', { now }),
      store.importRootfs(dir, 'alpha:a', { now }),
    ]);
    const list = await store.list();
    const names = list.map((s) => `${s.repository}:${s.tag}`);
    assert.deepEqual(
      names,
      [...names].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0)),
    );
    assert.ok(
      ['alpha:a', 'alpha:b', 'zeta:1'].every((n) => names.includes(n)),
      'concurrent tags all landed',
    );
    const zeta = list.find((s) => s.repository === 'zeta');
    const resolved = await store.resolve('zeta:1');
    assert.deepEqual(zeta, {
      repository: 'zeta',
      tag: '1',
      digest: resolved.manifestDigest,
      size: resolved.size,
      created: now.toISOString(),
    });
  });

  it('resolves by digest and reports unknown images', async () => {
    const image = await store.resolve('zeta:1');
    const byDigest = await store.resolve(`zeta@${image.manifestDigest}`);
    assert.equal(byDigest.reference, `zeta@${image.manifestDigest}`);
    assert.equal(byDigest.configDigest, image.configDigest);
    await assert.rejects(store.resolve('nope'), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'ERR_IMAGE_NOT_FOUND');
      assert.equal(
        err.message,
        'image "nope:latest" not found: import it with `berth image import DIR nope:latest`',
      );
      return true;
    });
    const demo = await store.resolve('demo');
    await assert.rejects(
      store.resolve(`zeta@${demo.manifestDigest}`),
      { code: 'ERR_IMAGE_NOT_FOUND' },
      'digest of another repository',
    );
  });

  it('unpacks a layer once for concurrent callers', async () => {
    const dir = join(tmp.path, 'once');
    await mkdir(dir);
    await writeFile(join(dir, 'only-here'), 'unique content for this layer');
    const image = await store.importRootfs(dir, 'once:1', { now });
    const [a, b] = await Promise.all([store.prepareLayers(image), store.prepareLayers(image)]);
    assert.deepEqual(a, b);
    assert.deepEqual(a, [store.layerPath(image.layers[0]?.diffId ?? '')]);
    assert.ok(
      !(await readdir(join(store.root, 'layers'))).some((n) => n.startsWith('tmp-')),
      'no temporary dir left',
    );
  });

  it('refuses a corrupted layer blob and leaves no half layer', async () => {
    const dir = join(tmp.path, 'corrupt');
    await mkdir(dir);
    await writeFile(join(dir, 'data'), 'x'.repeat(10_000));
    const image = await store.importRootfs(dir, 'corrupt:1', { now });
    const layer = image.layers[0];
    assert.ok(layer !== undefined);
    const blob = store.content.path(layer.digest);
    const bytes = await readFile(blob);
    bytes[bytes.length - 5] = (bytes[bytes.length - 5] ?? 0) ^ 0xff;
    await writeFile(blob, bytes);
    await assert.rejects(store.prepareLayers(image), (err: Error & { code?: string }) => {
      assert.ok(err.code === 'ERR_BLOB_CORRUPT' || err.code === 'ERR_BAD_LAYER', `got ${err.code}`);
      return true;
    });
    await assert.rejects(lstat(store.layerPath(layer.diffId)), { code: 'ENOENT' });
    assert.ok(!(await readdir(join(store.root, 'layers'))).some((n) => n.startsWith('tmp-')));
  });
});
