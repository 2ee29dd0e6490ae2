/**
 * Commit end to end on real overlays: changes made through a mounted rootfs (new files, deletions,
 * a directory removed and made again) become layers, and a 3-layer chain mounted again shows exactly
 * the changed tree. Needs root (overlayfs, whiteout devices, trusted.* xattrs).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, it } from 'node:test';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import { mountOverlay, unmountOverlay } from '../runtime/index.js';
import { commitUpperDir, computeChildConfigFile } from './commit.js';
import { ImageStore, type ResolvedImage } from './index.js';
import { asNodeWritable } from './tar-entries.js';
import { isRoot, makeTempDir, type TempDir } from './test-fixtures.js';

const skip = isRoot() ? false : 'needs root (overlayfs, whiteouts, trusted.* xattrs)';

describe('computeChildConfigFile', () => {
  it('appends diff ids and history, marking steps without a layer empty', () => {
    const parent = {
      architecture: 'amd64',
      os: 'linux',
      rootfs: { type: 'layers' as const, diff_ids: ['sha256:a'] },
      history: [{ created_by: 'base' }],
    };
    const layer = { mediaType: 'm', digest: 'sha256:d', size: 1, diffId: 'sha256:b' };
    const out = computeChildConfigFile(
      parent,
      [{ history: { created_by: 'ENV X=1' } }, { layer, history: { created_by: 'RUN x' } }],
      { Env: ['X=1'] },
      '2024-01-01T00:00:00.000Z',
    );
    assert.deepEqual(out.rootfs.diff_ids, ['sha256:a', 'sha256:b']);
    assert.deepEqual(out.history, [
      { created_by: 'base' },
      { created_by: 'ENV X=1', empty_layer: true },
      { created_by: 'RUN x' },
    ]);
    assert.equal(out.architecture, 'amd64');
    assert.deepEqual(parent.rootfs.diff_ids, ['sha256:a'], 'the parent is not changed');
  });
});

describe('commit of an overlay upper dir', { skip }, () => {
  let tmp: TempDir;
  let store: ImageStore;
  let n = 0;
  before(async () => {
    tmp = await makeTempDir('berth-commit-');
    store = await ImageStore.open(join(tmp.path, 'images'));
  });
  after(async () => {
    for (const name of await readdir(tmp.path))
      await unmountOverlay(join(tmp.path, name, 'rootfs')).catch(() => undefined);
    await tmp.cleanup();
  });

  /** Mounts the image, lets `change` edit the rootfs, unmounts, commits as `ref`. */
  async function commitChange(image: ResolvedImage, ref: string, change: (root: string) => Promise<void>) {
    const dir = join(tmp.path, `c${n++}`);
    const rootfs = join(dir, 'rootfs');
    await mountOverlay({
      lowerDirs: await store.prepareLayers(image),
      upperDir: join(dir, 'upper'),
      workDir: join(dir, 'work'),
      target: rootfs,
    });
    try {
      await change(rootfs);
    } finally {
      await unmountOverlay(rootfs);
    }
    return commitUpperDir(store, {
      upperDir: join(dir, 'upper'),
      parent: image,
      reference: ref,
      message: `m${n}`,
    });
  }

  async function mounted<T>(image: ResolvedImage, read: (root: string) => Promise<T>): Promise<T> {
    const dir = join(tmp.path, `v${n++}`);
    const rootfs = join(dir, 'rootfs');
    await mountOverlay({
      lowerDirs: await store.prepareLayers(image),
      upperDir: join(dir, 'upper'),
      workDir: join(dir, 'work'),
      target: rootfs,
    });
    try {
      return await read(rootfs);
    } finally {
      await unmountOverlay(rootfs);
    }
  }

  async function layerNames(image: ResolvedImage, index: number): Promise<string[]> {
    const layer = image.layers[index];
    assert.ok(layer);
    const extract = tar.extract();
    const feeding = pipeline(
      store.content.createReadStream(layer.digest),
      createGunzip(),
      asNodeWritable(extract),
    );
    const names: string[] = [];
    for await (const entry of extract) {
      names.push(entry.header.name);
      entry.resume();
    }
    await feeding;
    return names;
  }

  it('makes a 3-layer image whose deletions and opaque directories show when mounted', async () => {
    const src = join(tmp.path, 'src');
    await mkdir(join(src, 'etc'), { recursive: true });
    await mkdir(join(src, 'data/old'), { recursive: true });
    await writeFile(join(src, 'etc/keep'), 'keep\n');
    await writeFile(join(src, 'etc/gone'), 'gone\n');
    await writeFile(join(src, 'data/old/a'), 'a\n');
    await writeFile(join(src, 'data/b'), 'b\n');
    const base = await store.importRootfs(src, 'base:1');

    const second = await commitChange(base, 'app:2', async (root) => {
      await rm(join(root, 'etc/gone'));
      await writeFile(join(root, 'etc/new'), 'new\n');
      await rm(join(root, 'data'), { recursive: true });
      await mkdir(join(root, 'data'));
      await writeFile(join(root, 'data/fresh'), 'fresh\n');
    });
    const names = await layerNames(second, 1);
    assert.ok(names.includes('etc/.wh.gone'), names.join(' '));
    assert.ok(names.includes('data/.wh..wh..opq'), names.join(' '));

    const third = await commitChange(second, 'app:3', async (root) => {
      await rm(join(root, 'etc/new'));
      await writeFile(join(root, 'etc/keep'), 'changed\n');
    });
    assert.equal(third.layers.length, 3);
    const view = await mounted(third, async (root) => ({
      etc: (await readdir(join(root, 'etc'))).sort(),
      data: (await readdir(join(root, 'data'))).sort(),
      keep: await readFile(join(root, 'etc/keep'), 'utf8'),
    }));
    assert.deepEqual(view, { etc: ['keep'], data: ['fresh'], keep: 'changed\n' });

    const config = await store.readConfigFile(third);
    assert.equal(config.rootfs.diff_ids.length, 3);
    assert.deepEqual(
      config.history?.map((h) => h.comment),
      [undefined, 'm1', 'm2'],
    );
  });

  it('commits an empty upper dir as an empty layer', async () => {
    const base = await store.resolve('base:1');
    const empty = join(tmp.path, 'empty-upper');
    await mkdir(empty);
    const image = await commitUpperDir(store, { upperDir: empty, parent: base, reference: 'same:1' });
    assert.equal(image.layers.length, 2);
    assert.ok(existsSync(store.content.path(image.layers[1]?.digest ?? '')));
  });
});
