/**
 * Hostile layers, in the spirit of containerd's TestBreakouts and umoci's tar_extract tests: every
 * layer here is either refused with ERR_BAD_LAYER (one clear line) or applied harmlessly. After each
 * case, a "victim" directory beside the target is unchanged and nothing new exists outside the target.
 */
import assert from 'node:assert/strict';
import { lstat, mkdir, readdir, readFile, readlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { isBerthError } from '../core/errors.js';
import { sha256Digest } from './digest.js';
import { extractLayer, type ExtractLayerOptions } from './extract-layer.js';
import { ImageStore, MEDIA_TYPE_LAYER_GZIP } from './index.js';
import { evaluateExpansion, DEFAULT_LAYER_LIMITS } from './layer-limits.js';
import { buildTar, isRoot, makeTempDir, type TarFixtureEntry, type TempDir } from './test-fixtures.js';

type Outcome = 'refused' | 'harmless';

interface Case {
  name: string;
  /** Layers applied one after the other into the same target (as a flattening extractor would). */
  layers: (victim: string) => TarFixtureEntry[][];
  expect: Outcome;
  /** Extra checks on the target after a harmless case. */
  check?: (target: string) => Promise<void>;
  options?: ExtractLayerOptions;
  rootOnly?: boolean;
}

const file = (name: string, body = 'x'): TarFixtureEntry => ({ name, body, mode: 0o644 });
const dir = (name: string): TarFixtureEntry => ({ name, type: 'directory', mode: 0o755 });
const sym = (name: string, linkname: string): TarFixtureEntry => ({ name, type: 'symlink', linkname });
const hard = (name: string, linkname: string): TarFixtureEntry => ({ name, type: 'link', linkname });

async function isSymlink(path: string): Promise<boolean> {
  return (await lstat(path)).isSymbolicLink();
}

const CASES: Case[] = [
  { name: '".." at the start', layers: () => [[file('../escape')]], expect: 'refused' },
  { name: '".." in the middle', layers: () => [[file('a/../../escape')]], expect: 'refused' },
  { name: '".." after "./"', layers: () => [[file('./../escape')]], expect: 'refused' },
  { name: 'many ".."', layers: () => [[file('a/b/../../../../../../escape')]], expect: 'refused' },
  { name: 'absolute path', layers: (v) => [[file(`${v}/secret`, 'pwned')]], expect: 'refused' },
  { name: 'absolute "/etc" path', layers: () => [[file('/etc/berth-test-escape')]], expect: 'refused' },
  {
    name: 'symlink loop',
    layers: () => [[sym('a', 'b'), sym('b', 'a'), file('a/x', 'pwned')]],
    expect: 'refused',
  },
  {
    name: 'file through a symlink to the victim (absolute)',
    layers: (v) => [[sym('link', v), file('link/secret', 'pwned')]],
    expect: 'refused',
  },
  {
    name: 'file through a symlink to the victim (relative)',
    layers: () => [[sym('link', '../victim'), file('link/new', 'pwned')]],
    expect: 'refused',
  },
  {
    name: 'file through a symlink to "/"',
    layers: () => [[sym('root', '/'), file('root/tmp/berth-escape', 'pwned')]],
    expect: 'refused',
  },
  {
    name: 'two-hop symlink chain',
    layers: () => [[sym('a', 'b'), sym('b', '../victim'), file('a/new', 'pwned')]],
    expect: 'refused',
  },
  {
    name: 'symlink in a nested dir pointing up',
    layers: () => [[dir('d/'), sym('d/up', '../../victim'), file('d/up/secret', 'pwned')]],
    expect: 'refused',
  },
  {
    name: 'symlink in one layer, file through it in the next',
    layers: (v) => [[sym('link', v)], [file('link/secret', 'pwned')]],
    expect: 'refused',
  },
  {
    name: 'symlink in one layer, directory entry through it in the next',
    layers: (v) => [[sym('link', v)], [dir('link/sub/')]],
    expect: 'refused',
  },
  {
    name: 'escaping symlinks alone are kept as links, not followed',
    layers: (v) => [[sym('abs', `${v}/secret`), sym('rel', '../../victim/secret')]],
    expect: 'harmless',
    check: async (t) => {
      assert.ok(await isSymlink(join(t, 'abs')));
      assert.equal(await readlink(join(t, 'rel')), '../../victim/secret');
    },
  },
  {
    name: 'a file replacing a symlink is written in place, not through it',
    layers: (v) => [[sym('f', `${v}/secret`)], [file('f', 'pwned')]],
    expect: 'harmless',
    check: async (t) => assert.equal(await readFile(join(t, 'f'), 'utf8'), 'pwned'),
  },
  {
    name: 'a directory replacing a symlink',
    layers: (v) => [[sym('d', v), dir('d/'), file('d/secret', 'inside')]],
    expect: 'harmless',
    check: async (t) => assert.equal(await readFile(join(t, 'd/secret'), 'utf8'), 'inside'),
  },
  {
    name: 'a symlink replacing a directory keeps the directory mode off the victim',
    layers: (v) => [[{ ...dir('d/'), mode: 0o777 }, sym('d', v)]],
    expect: 'harmless',
    check: async (t) => assert.ok(await isSymlink(join(t, 'd'))),
  },
  { name: 'hard link to an absolute path', layers: (v) => [[hard('h', `${v}/secret`)]], expect: 'refused' },
  { name: 'hard link with ".."', layers: () => [[hard('h', '../victim/secret')]], expect: 'refused' },
  {
    name: 'hard link through a symlink',
    layers: (v) => [[sym('s', v), hard('h', 's/secret')]],
    expect: 'refused',
  },
  {
    name: 'hard link to a symlink links the symlink itself',
    layers: (v) => [[sym('s', `${v}/secret`), hard('h', 's'), file('h', 'pwned')]],
    expect: 'harmless',
    check: async (t) => {
      assert.ok(await isSymlink(join(t, 's')));
      assert.equal(await readFile(join(t, 'h'), 'utf8'), 'pwned');
    },
  },
  { name: 'hard link to a missing file', layers: () => [[hard('h', 'nothing')]], expect: 'refused' },
  { name: 'hard link to a directory', layers: () => [[dir('d/'), hard('h', 'd')]], expect: 'refused' },
  { name: 'whiteout of ".." (.wh...)', layers: () => [[file('a/.wh..')]], expect: 'refused', rootOnly: true },
  { name: 'bare whiteout ".wh."', layers: () => [[file('.wh.')]], expect: 'refused', rootOnly: true },
  { name: 'whiteout of "."', layers: () => [[file('d/.wh..')]], expect: 'refused', rootOnly: true },
  {
    name: 'whiteout through a symlink',
    layers: (v) => [[sym('s', v), file('s/.wh.secret')]],
    expect: 'refused',
  },
  {
    name: 'opaque marker through a symlink',
    layers: (v) => [[sym('s', v), file('s/.wh..wh..opq')]],
    expect: 'refused',
  },
  {
    name: 'whiteout of a symlink removes the link, not its target',
    layers: (v) => [[sym('s', v)], [file('.wh.s')]],
    expect: 'harmless',
    rootOnly: true,
    check: async (t) => assert.equal((await lstat(join(t, 's'))).rdev, 0),
  },
  {
    name: 'duplicate file entries: the last wins',
    layers: () => [[file('f', 'one'), file('f', 'two')]],
    expect: 'harmless',
    check: async (t) => assert.equal(await readFile(join(t, 'f'), 'utf8'), 'two'),
  },
  {
    name: 'duplicate: a file replaces a directory',
    layers: () => [[dir('d/'), file('d/in'), file('d', 'file')]],
    expect: 'harmless',
    check: async (t) => assert.equal(await readFile(join(t, 'd'), 'utf8'), 'file'),
  },
  {
    name: 'duplicate: a directory replaces a file',
    layers: () => [[file('d', 'file'), dir('d/'), file('d/in', 'in')]],
    expect: 'harmless',
    check: async (t) => assert.equal(await readFile(join(t, 'd/in'), 'utf8'), 'in'),
  },
  {
    name: 'device nodes without root are skipped',
    layers: () => [[{ name: 'null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 }]],
    expect: 'harmless',
    options: { asRoot: false },
    check: async (t) => assert.deepEqual(await readdir(t), []),
  },
  {
    name: 'a block device for the host disk without root is skipped',
    layers: () => [[{ name: 'sda', type: 'block-device', devmajor: 8, devminor: 0, mode: 0o660 }]],
    expect: 'harmless',
    options: { asRoot: false },
    check: async (t) => assert.deepEqual(await readdir(t), []),
  },
  {
    name: 'decompression bomb past the ratio limit',
    layers: () => [[file('zeros', '\0'.repeat(4 * 1024 * 1024))]],
    expect: 'refused',
    options: { maxRatio: 20, ratioFloorBytes: 1024 * 1024 },
  },
  {
    name: 'layer past the size limit',
    layers: () => [[file('big', 'y'.repeat(3 * 1024 * 1024))]],
    expect: 'refused',
    options: { maxBytes: 1024 * 1024 },
  },
];

describe('hostile layers', () => {
  let tmp: TempDir;
  let target: string;
  let victim: string;
  beforeEach(async () => {
    tmp = await makeTempDir('berth-hostile-');
    target = join(tmp.path, 'target');
    victim = join(tmp.path, 'victim');
    await mkdir(target);
    await mkdir(join(victim, 'sub'), { recursive: true });
    await writeFile(join(victim, 'secret'), 'secret\n', { mode: 0o600 });
    await writeFile(join(victim, 'sub/file'), 'file\n');
  });
  afterEach(() => tmp.cleanup());

  async function snapshotVictim(): Promise<string> {
    const out: string[] = [];
    const walk = async (d: string): Promise<void> => {
      for (const name of (await readdir(join(victim, d))).sort()) {
        const rel = d ? `${d}/${name}` : name;
        const s = await lstat(join(victim, rel));
        out.push(`${rel} ${s.mode} ${s.size} ${s.mtimeMs} ${s.nlink}`);
        if (s.isDirectory()) await walk(rel);
        else out.push(await readFile(join(victim, rel), 'utf8'));
      }
    };
    await walk('');
    return out.join('\n');
  }

  for (const c of CASES) {
    const skip = c.rootOnly && !isRoot() ? 'needs root (whiteouts)' : false;
    it(`${c.expect === 'refused' ? 'refuses' : 'survives'}: ${c.name}`, { skip }, async () => {
      const before = await snapshotVictim();
      let error: unknown;
      try {
        for (const layer of c.layers(victim)) {
          const bytes = await buildTar(layer, { gzip: true });
          await extractLayer(Readable.from([bytes]), target, { compression: 'gzip', ...c.options });
        }
      } catch (err) {
        error = err;
      }
      if (c.expect === 'refused') {
        assert.ok(isBerthError(error), `expected ERR_BAD_LAYER, got ${String(error)}`);
        assert.equal(error.code, 'ERR_BAD_LAYER');
        assert.ok(!error.message.includes('\n'), 'one line');
      } else {
        assert.equal(error, undefined, String(error));
        await c.check?.(target);
      }
      assert.equal(await snapshotVictim(), before, 'the victim is unchanged');
      assert.deepEqual(
        (await readdir(tmp.path)).sort(),
        ['target', 'victim'],
        'nothing new beside the target',
      );
    });
  }

  it('refuses a truncated gzip stream', async () => {
    const bytes = await buildTar([file('a', 'z'.repeat(100_000))], { gzip: true });
    await assert.rejects(
      extractLayer(Readable.from([bytes.subarray(0, bytes.length - 40)]), target, { compression: 'gzip' }),
      { code: 'ERR_BAD_LAYER' },
    );
  });

  it('refuses a tar cut in the middle of a file', async () => {
    const bytes = await buildTar([file('a', 'z'.repeat(100_000))]);
    await assert.rejects(
      extractLayer(Readable.from([bytes.subarray(0, 20_000)]), target, { compression: 'none' }),
      { code: 'ERR_BAD_LAYER' },
    );
  });

  it('refuses gzip garbage', async () => {
    await assert.rejects(
      extractLayer(Readable.from([Buffer.from('\x1f\x8bnot really gzip')]), target, { compression: 'gzip' }),
      { code: 'ERR_BAD_LAYER' },
    );
  });

  it('refuses a layer whose content does not match its diff id', async () => {
    const bytes = await buildTar([file('a', 'a')]);
    await assert.rejects(
      extractLayer(Readable.from([bytes]), target, {
        compression: 'none',
        expectedDiffId: sha256Digest('other'),
      }),
      { code: 'ERR_BAD_LAYER' },
    );
  });

  it('refuses a blob whose content does not match its digest, leaving no layer behind', async () => {
    const store = await ImageStore.open(join(tmp.path, 'target', 'store'));
    const tarBytes = await buildTar([file('a', 'a')]);
    const gz = gzipSync(tarBytes);
    const blob = await store.content.putBytes(gz);
    await writeFile(store.content.path(blob.digest), gzipSync(await buildTar([file('a', 'b')])));
    const image = {
      reference: 'x:1',
      manifestDigest: '',
      configDigest: '',
      config: {},
      created: '',
      size: 0,
      layers: [
        {
          mediaType: MEDIA_TYPE_LAYER_GZIP,
          digest: blob.digest,
          size: gz.length,
          diffId: sha256Digest(tarBytes),
        },
      ],
    };
    await assert.rejects(
      store.prepareLayers(image),
      (err: unknown) => isBerthError(err) && /ERR_BLOB_CORRUPT|ERR_BAD_LAYER/.test(err.code),
    );
    const layersDir = join(store.root, 'layers');
    assert.deepEqual(
      (await readdir(layersDir)).filter((n) => n !== 'sha256'),
      [],
      'no temporary dir left',
    );
    assert.deepEqual(await readdir(join(layersDir, 'sha256')), [], 'no layer dir');
  });
});

describe('expansion limits', () => {
  const limits = { ...DEFAULT_LAYER_LIMITS, maxBytes: 1000, maxRatio: 10, ratioFloorBytes: 100 };
  it('checks the ratio only past the floor and the size always', () => {
    assert.equal(evaluateExpansion(99, 1, limits), undefined);
    assert.match(evaluateExpansion(200, 1, limits) ?? '', /decompression bomb/);
    assert.equal(evaluateExpansion(200, 20, limits), undefined);
    assert.match(evaluateExpansion(1001, undefined, limits) ?? '', /limit/);
    assert.equal(evaluateExpansion(500, undefined, limits), undefined);
  });
});
