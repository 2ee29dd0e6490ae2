import assert from 'node:assert/strict';
import { lstat, mkdir, readdir, readFile, readlink, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { sha256Digest } from './digest.js';
import { extractLayer } from './extract-layer.js';
import { OPAQUE_XATTR, readXattr } from './special-files.js';
import { ancestorsOf, normalizeEntryPath, splitDeviceNumber } from './tar-path.js';
import { buildTar, isRoot, makeTempDir, type TarFixtureEntry, type TempDir } from './test-fixtures.js';

const ROOT_ONLY = isRoot() ? false : 'needs root (mknod, chown, trusted.* xattrs)';

describe('tar paths', () => {
  it('normalizes names and refuses escapes', () => {
    assert.equal(normalizeEntryPath('./a//b/./c/', { allowAbsolute: false }), 'a/b/c');
    assert.equal(normalizeEntryPath('./', { allowAbsolute: false }), '');
    assert.equal(normalizeEntryPath('/etc/passwd', { allowAbsolute: true }), 'etc/passwd');
    assert.throws(() => normalizeEntryPath('/etc/passwd', { allowAbsolute: false }), {
      code: 'ERR_BAD_LAYER',
    });
    assert.throws(() => normalizeEntryPath('a/../../b', { allowAbsolute: true }), { code: 'ERR_BAD_LAYER' });
    assert.throws(() => normalizeEntryPath('a\0b', { allowAbsolute: true }), { code: 'ERR_BAD_LAYER' });
    assert.deepEqual(ancestorsOf('a/b/c'), ['a', 'a/b']);
  });

  it('splits Linux device numbers like glibc', () => {
    assert.deepEqual(splitDeviceNumber(0x0103), { major: 1, minor: 3 }); // /dev/null
    assert.deepEqual(splitDeviceNumber(0x108880), { major: 136, minor: 0x180 }); // minor above 255
    assert.deepEqual(splitDeviceNumber(259 * 256 + 5), { major: 259, minor: 5 });
  });
});

describe('extractLayer', () => {
  let tmp: TempDir;
  let target: string;
  beforeEach(async () => {
    tmp = await makeTempDir();
    target = join(tmp.path, 'target');
    await mkdir(target);
  });
  afterEach(() => tmp.cleanup());

  async function extract(entries: TarFixtureEntry[], options: { gzip?: boolean; asRoot?: boolean } = {}) {
    const bytes = await buildTar(entries, { gzip: options.gzip === true });
    return extractLayer(Readable.from([bytes]), target, {
      compression: options.gzip ? 'gzip' : 'none',
      ...(options.asRoot !== undefined ? { asRoot: options.asRoot } : {}),
    });
  }

  it('writes files, directories, symlinks, hard links, modes and mtimes', async () => {
    const mtime = new Date('2020-01-02T03:04:05Z');
    const result = await extract(
      [
        { name: './usr/', mode: 0o755, mtime },
        { name: './usr/bin/', mode: 0o750, mtime },
        { name: './usr/bin/tool', body: '#!/bin/sh\n', mode: 0o4755, mtime },
        { name: './usr/bin/alias', type: 'link', linkname: './usr/bin/tool' },
        { name: './usr/bin/soft', type: 'symlink', linkname: 'tool', mtime },
        { name: 'implicit/parent/file', body: 'x', mode: 0o600 },
      ],
      { gzip: true },
    );
    assert.equal(result.entries, 6);
    const tool = await stat(join(target, 'usr/bin/tool'));
    assert.equal(tool.mode & 0o7777, 0o4755);
    assert.equal(tool.mtime.getTime(), mtime.getTime());
    assert.equal((await stat(join(target, 'usr/bin/alias'))).ino, tool.ino);
    assert.equal(await readlink(join(target, 'usr/bin/soft')), 'tool');
    const bin = await stat(join(target, 'usr/bin'));
    assert.equal(bin.mode & 0o7777, 0o750);
    assert.equal(bin.mtime.getTime(), mtime.getTime(), 'directory mtime set after its contents');
    assert.equal(await readFile(join(target, 'implicit/parent/file'), 'utf8'), 'x');
  });

  it('checks the diff id of the uncompressed content', async () => {
    const bytes = await buildTar([{ name: 'f', body: 'data' }]);
    const ok = await extractLayer(Readable.from([bytes]), target, { expectedDiffId: sha256Digest(bytes) });
    assert.equal(ok.diffId, sha256Digest(bytes));
    await assert.rejects(
      extractLayer(Readable.from([bytes]), target, { expectedDiffId: sha256Digest('other') }),
      { code: 'ERR_BAD_LAYER' },
    );
  });

  it('refuses a ".." entry and writes nothing outside', async () => {
    await assert.rejects(extract([{ name: '../evil', body: 'pwned' }]), { code: 'ERR_BAD_LAYER' });
    assert.deepEqual((await readdir(tmp.path)).sort(), ['target']);
  });

  it('refuses an absolute entry and writes nothing outside', async () => {
    const outside = join(tmp.path, 'abs-evil');
    await assert.rejects(extract([{ name: outside, body: 'pwned' }]), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'ERR_BAD_LAYER');
      assert.match(err.message, /absolute/);
      return true;
    });
    assert.deepEqual((await readdir(tmp.path)).sort(), ['target']);
  });

  it('refuses to write through a symlink the layer planted', async () => {
    const outside = join(tmp.path, 'x');
    await mkdir(outside);
    await assert.rejects(
      extract([
        { name: 'a', type: 'symlink', linkname: outside },
        { name: 'a/f', body: 'pwned' },
      ]),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, 'ERR_BAD_LAYER');
        assert.match(err.message, /symlink "a"/);
        return true;
      },
    );
    assert.deepEqual(await readdir(outside), []);
  });

  it('refuses a hard link to a file outside the tree', async () => {
    await assert.rejects(extract([{ name: 'passwd', type: 'link', linkname: '../../etc/passwd' }]), {
      code: 'ERR_BAD_LAYER',
    });
    await assert.rejects(
      extract([
        { name: 'a', type: 'symlink', linkname: '/etc' },
        { name: 'pw', type: 'link', linkname: 'a/passwd' },
      ]),
      { code: 'ERR_BAD_LAYER' },
    );
    await assert.rejects(lstat(join(target, 'pw')), { code: 'ENOENT' });
  });

  it('lets a later entry replace an earlier one', async () => {
    await extract([
      { name: 'p', body: 'file first' },
      { name: 'p/', mode: 0o755 },
      { name: 'p/inner', body: 'inside' },
    ]);
    assert.equal(await readFile(join(target, 'p/inner'), 'utf8'), 'inside');
  });

  it('records whiteouts as overlayfs does', { skip: ROOT_ONLY }, async () => {
    const result = await extract([
      { name: 'dir/', mode: 0o755 },
      { name: 'dir/.wh.gone', body: '' },
      { name: 'dir/.wh..wh..opq', body: '' },
      { name: '.wh.top', body: '' },
    ]);
    for (const path of ['dir/gone', 'top']) {
      const node = await lstat(join(target, path));
      assert.ok(node.isCharacterDevice(), `${path} is a character device`);
      assert.equal(node.rdev, 0);
    }
    assert.deepEqual((await readdir(join(target, 'dir'))).sort(), ['gone']);
    const opaque = await readXattr(join(target, 'dir'), OPAQUE_XATTR);
    if (opaque === undefined)
      assert.ok(
        result.notes.some((n) => n.includes('opaque')),
        'a note says why',
      );
    else assert.equal(opaque, 'y');
  });

  it('creates device nodes and fifos as root', { skip: ROOT_ONLY }, async () => {
    await extract([
      { name: 'null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 },
      { name: 'pipe', type: 'fifo', mode: 0o644 },
    ]);
    const dev = await lstat(join(target, 'null'));
    assert.ok(dev.isCharacterDevice());
    assert.deepEqual(splitDeviceNumber(dev.rdev), { major: 1, minor: 3 });
    assert.equal(dev.mode & 0o777, 0o666);
    assert.ok((await lstat(join(target, 'pipe'))).isFIFO());
  });

  it('without root, writes no whiteouts or devices and says so', async () => {
    const result = await extract(
      [
        { name: '.wh.gone', body: '' },
        { name: 'null', type: 'character-device', devmajor: 1, devminor: 3 },
      ],
      { asRoot: false },
    );
    assert.deepEqual(await readdir(target), []);
    assert.equal(result.notes.length, 2);
  });

  it('reports a damaged gzip stream as a bad layer', async () => {
    const bytes = await buildTar([{ name: 'f', body: 'data' }], { gzip: true });
    const damaged = Buffer.concat([bytes.subarray(0, 12), Buffer.alloc(40, 0x55)]);
    await assert.rejects(extractLayer(Readable.from([damaged]), target, { compression: 'gzip' }), {
      code: 'ERR_BAD_LAYER',
    });
  });
});
