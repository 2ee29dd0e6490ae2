import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFile, lstat, mkdir, readdir, readlink } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ImageStore } from './index.js';
import { isRoot, makeTempDir, type TempDir } from './test-fixtures.js';

const BUSYBOX = ['/bin/busybox', '/usr/bin/busybox'].find((path) => existsSync(path));
const CHROOT = ['/usr/sbin/chroot', '/sbin/chroot', '/usr/bin/chroot'].find((path) => existsSync(path));
const skip =
  BUSYBOX === undefined
    ? 'busybox (busybox-static) is not installed'
    : !isRoot()
      ? 'chroot needs root'
      : CHROOT === undefined
        ? 'chroot is not installed'
        : false;

describe('a busybox root file system', { skip }, () => {
  let tmp: TempDir;
  let rootfs: string;
  before(async () => {
    tmp = await makeTempDir();
    rootfs = join(tmp.path, 'busybox');
    await mkdir(join(rootfs, 'bin'), { recursive: true });
    await copyFile(BUSYBOX ?? '', join(rootfs, 'bin/busybox'));
    execFileSync(CHROOT ?? 'chroot', [rootfs, '/bin/busybox', '--install', '-s', '/bin']);
  });
  after(() => tmp.cleanup());

  it('imports and unpacks with its applet symlinks, and runs', async () => {
    const applets = (await readdir(join(rootfs, 'bin'))).filter((name) => name !== 'busybox');
    assert.ok(applets.length > 100, `busybox installed ${applets.length} applets`);
    const store = await ImageStore.open(join(tmp.path, 'images'));
    const image = await store.importRootfs(rootfs, 'busybox:test');
    const [layerDir] = await store.prepareLayers(image);
    assert.ok(layerDir !== undefined);
    const unpacked = (await readdir(join(layerDir, 'bin'))).sort();
    assert.deepEqual(unpacked, (await readdir(join(rootfs, 'bin'))).sort());
    for (const applet of applets) {
      assert.ok((await lstat(join(layerDir, 'bin', applet))).isSymbolicLink(), `${applet} is a symlink`);
      assert.equal(
        await readlink(join(layerDir, 'bin', applet)),
        await readlink(join(rootfs, 'bin', applet)),
      );
    }
    assert.equal(
      (await lstat(join(layerDir, 'bin/busybox'))).mode & 0o777,
      (await lstat(join(rootfs, 'bin/busybox'))).mode & 0o777,
    );
    const out = execFileSync(CHROOT ?? 'chroot', [layerDir, '/bin/sh', '-c', 'echo hello from the layer'], {
      encoding: 'utf8',
    });
    assert.equal(out.trim(), 'hello from the layer');
  });
});
