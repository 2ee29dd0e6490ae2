import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { crc32, gzipSync } from 'node:zlib';
import tarStream from 'tar-stream';
import { fetchUris, FetchFailedError, isContainedLinkTarget, normalizeEntryName } from './fetcher.js';

type TarItem = {
  name: string;
  body?: string;
  type?: 'file' | 'directory' | 'symlink' | 'link';
  linkname?: string;
  mode?: number;
};

async function tarBuffer(items: TarItem[]): Promise<Buffer> {
  const pack = tarStream.pack();
  for (const item of items) {
    const type = item.type ?? 'file';
    pack.entry(
      {
        name: item.name,
        type,
        mode: item.mode ?? (type === 'directory' ? 0o755 : 0o644),
        linkname: item.linkname,
      },
      type === 'file' ? (item.body ?? '') : '',
    );
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A stored (uncompressed) zip; `mode` sets the unix mode in the external attributes. */
function zipBuffer(items: Array<{ name: string; body?: string; mode?: number }>): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const item of items) {
    const name = Buffer.from(item.name);
    const data = Buffer.from(item.body ?? '');
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4); // made by unix
    central.writeUInt16LE(20, 6);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(((item.mode ?? 0o100644) << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, data);
    centrals.push(central, name);
    offset += local.length + name.length + data.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(items.length, 8);
  end.writeUInt16LE(items.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

function dirs(t: { after: (fn: () => void) => void }) {
  const base = mkdtempSync(join(tmpdir(), 'berth-fetch-'));
  t.after(() => rmSync(base, { recursive: true, force: true }));
  const sandbox = join(base, 'sandbox');
  const src = join(base, 'src');
  mkdirSync(sandbox);
  mkdirSync(src);
  return { base, sandbox, src };
}

test('a .tar from an absolute path is extracted: dirs, files with their modes, inside symlinks, hard links', async (t) => {
  const { sandbox, src } = dirs(t);
  writeFileSync(
    join(src, 'app.tar'),
    await tarBuffer([
      { name: 'app/', type: 'directory' },
      { name: 'app/run.sh', body: '#!/bin/sh\necho hi\n', mode: 0o755 },
      { name: 'app/conf/settings', body: 'x=1' },
      { name: 'app/current', type: 'symlink', linkname: 'conf/settings' },
      { name: 'app/same', type: 'link', linkname: 'app/run.sh' },
    ]),
  );
  await fetchUris([{ value: join(src, 'app.tar') }], sandbox);
  assert.equal(readFileSync(join(sandbox, 'app/run.sh'), 'utf8'), '#!/bin/sh\necho hi\n');
  assert.equal(statSync(join(sandbox, 'app/run.sh')).mode & 0o777, 0o755);
  assert.equal(readFileSync(join(sandbox, 'app/current'), 'utf8'), 'x=1');
  assert.equal(readlinkSync(join(sandbox, 'app/current')), 'conf/settings');
  assert.equal(statSync(join(sandbox, 'app/same')).ino, statSync(join(sandbox, 'app/run.sh')).ino);
  assert.ok(existsSync(join(sandbox, 'app.tar')), 'the archive stays in the sandbox');
});

test('a .tgz from a file:// URL, with output_file; extract: false keeps it packed', async (t) => {
  const { sandbox, src } = dirs(t);
  writeFileSync(join(src, 'bundle.tgz'), gzipSync(await tarBuffer([{ name: './bin/tool', body: 'tool' }])));
  await fetchUris(
    [{ value: pathToFileURL(join(src, 'bundle.tgz')).href, output_file: 'renamed.tar.gz' }],
    sandbox,
  );
  assert.equal(readFileSync(join(sandbox, 'bin/tool'), 'utf8'), 'tool');
  assert.ok(existsSync(join(sandbox, 'renamed.tar.gz')));
  const other = join(sandbox, 'other');
  mkdirSync(other);
  await fetchUris([{ value: join(src, 'bundle.tgz'), extract: false }], other);
  assert.deepEqual(existsSync(join(other, 'bin')), false);
  assert.ok(existsSync(join(other, 'bundle.tgz')));
});

test('http: a .zip is downloaded and extracted; executable makes a file executable and skips extraction', async (t) => {
  const { sandbox } = dirs(t);
  const zip = zipBuffer([
    { name: 'site/', mode: 0o040755 },
    { name: 'site/index.html', body: '<h1>hi</h1>' },
    { name: 'site/start', body: '#!/bin/sh\n', mode: 0o100755 },
    { name: 'site/latest', body: 'index.html', mode: 0o120777 },
  ]);
  const server = createServer((req, res) => {
    if (req.url === '/files/site.zip' || req.url === '/files/tool.zip') return res.end(zip);
    res.statusCode = 404;
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/files`;
  await fetchUris([{ value: `${base}/site.zip` }, { value: `${base}/tool.zip`, executable: true }], sandbox);
  assert.equal(readFileSync(join(sandbox, 'site/index.html'), 'utf8'), '<h1>hi</h1>');
  assert.equal(statSync(join(sandbox, 'site/start')).mode & 0o777, 0o755);
  assert.equal(readlinkSync(join(sandbox, 'site/latest')), 'index.html');
  assert.equal(statSync(join(sandbox, 'tool.zip')).mode & 0o777, 0o755);
  await assert.rejects(fetchUris([{ value: `${base}/missing.tar` }], sandbox), (err: unknown) => {
    assert.ok(err instanceof FetchFailedError);
    assert.equal(err.message, `fetching ${base}/missing.tar failed: HTTP 404 Not Found`);
    return true;
  });
});

const hostile: Array<[string, TarItem[], RegExp]> = [
  ['a ".." entry', [{ name: '../evil', body: 'x' }], /has a "\.\." component/],
  ['an absolute entry', [{ name: '/tmp/evil', body: 'x' }], /absolute path/],
  [
    'a write through a symlink',
    [
      { name: 'link', type: 'symlink', linkname: 'sub' },
      { name: 'sub/', type: 'directory' },
      { name: 'link/evil', body: 'x' },
    ],
    /written through a symlink at "link"/,
  ],
  ['a symlink to an absolute path', [{ name: 'etc', type: 'symlink', linkname: '/etc' }], /points outside/],
  ['a symlink that climbs out', [{ name: 'a/up', type: 'symlink', linkname: '../../x' }], /points outside/],
  ['a hard link out', [{ name: 'h', type: 'link', linkname: '../outside' }], /"\.\." component/],
];

for (const [what, items, message] of hostile) {
  test(`traversal refused: ${what}; nothing written outside the sandbox`, async (t) => {
    const { base, sandbox, src } = dirs(t);
    writeFileSync(join(base, 'outside'), 'secret');
    writeFileSync(join(src, 'bad.tar'), await tarBuffer(items));
    await assert.rejects(fetchUris([{ value: join(src, 'bad.tar') }], sandbox), (err: unknown) => {
      assert.ok(err instanceof FetchFailedError);
      assert.ok(err.message.startsWith(`fetching ${join(src, 'bad.tar')} failed: `), err.message);
      assert.match(err.message, message);
      return true;
    });
    assert.equal(existsSync(join(base, 'evil')), false);
    assert.equal(existsSync('/tmp/evil'), false);
    assert.equal(readFileSync(join(base, 'outside'), 'utf8'), 'secret');
  });
}

test("reserved top-level names (the runtime's files) are never written", async (t) => {
  const { sandbox, src } = dirs(t);
  writeFileSync(join(src, 'logs.tar'), await tarBuffer([{ name: './stdout', body: 'fake log' }]));
  writeFileSync(join(sandbox, 'stdout'), 'real log');
  await assert.rejects(
    fetchUris([{ value: join(src, 'logs.tar') }], sandbox, { reserved: ['stdout', '.runtime'] }),
    /would overwrite the sandbox's own "stdout"/,
  );
  assert.equal(readFileSync(join(sandbox, 'stdout'), 'utf8'), 'real log');
});

test('traversal refused in a zip', async (t) => {
  const { base, sandbox, src } = dirs(t);
  writeFileSync(join(src, 'bad.zip'), zipBuffer([{ name: '../evil', body: 'x' }]));
  await assert.rejects(
    fetchUris([{ value: join(src, 'bad.zip') }], sandbox),
    /bad\.zip failed: .*relative path/,
  );
  writeFileSync(join(src, 'bad2.zip'), zipBuffer([{ name: 'up', body: '../../etc', mode: 0o120777 }]));
  await assert.rejects(fetchUris([{ value: join(src, 'bad2.zip') }], sandbox), /points outside/);
  assert.equal(existsSync(join(base, 'evil')), false);
  assert.equal(lstatSync(join(sandbox, 'bad2.zip')).isFile(), true);
});

test('bad URIs fail with one line naming the URI', async (t) => {
  const { sandbox, src } = dirs(t);
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const port = (closed.address() as AddressInfo).port;
  await new Promise((resolve) => closed.close(resolve));
  const cases: Array<[string, RegExp]> = [
    ['relative/path.tar', /^fetching relative\/path\.tar failed: not a URL or an absolute path/],
    ['ftp://example.com/x.tar', /^fetching ftp:\/\/example\.com\/x\.tar failed: unsupported scheme "ftp"/],
    [join(src, 'missing.tar'), /failed: no such file$/],
    [src, /failed: the URI names no file|not a regular file/],
    [
      `http://127.0.0.1:${port}/x.tar`,
      /^fetching http:\/\/127\.0\.0\.1:\d+\/x\.tar failed: connection refused$/,
    ],
  ];
  for (const [value, message] of cases) {
    await assert.rejects(fetchUris([{ value }], sandbox), (err: unknown) => {
      assert.ok(err instanceof FetchFailedError, String(err));
      assert.match(err.message, message);
      assert.equal(err.message.includes('\n'), false);
      return true;
    });
  }
  await assert.rejects(
    fetchUris([{ value: join(src, 'x'), output_file: '../x' }], sandbox),
    /"\.\." component/,
  );
});

test('extraction stops at the size limit (a gzip bomb fills no disk)', async (t) => {
  const { sandbox, src } = dirs(t);
  const big = 'x'.repeat(1024 * 1024);
  writeFileSync(
    join(src, 'bomb.tgz'),
    gzipSync(
      await tarBuffer([
        { name: 'a', body: big },
        { name: 'b', body: big },
      ]),
    ),
  );
  await assert.rejects(
    fetchUris([{ value: join(src, 'bomb.tgz') }], sandbox, { maxBytes: 1536 * 1024 }),
    /bomb\.tgz failed: the extracted files exceed the size limit$/,
  );
});

test('a corrupt .tar.gz fails', async (t) => {
  const { sandbox, src } = dirs(t);
  writeFileSync(join(src, 'broken.tar.gz'), Buffer.concat([Buffer.from([0x1f, 0x8b]), Buffer.alloc(100, 7)]));
  await assert.rejects(
    fetchUris([{ value: join(src, 'broken.tar.gz') }], sandbox),
    /broken\.tar\.gz failed: /,
  );
});

test('entry names and link targets', () => {
  assert.equal(normalizeEntryName('./a//b/./c/'), 'a/b/c');
  assert.throws(() => normalizeEntryName('a/../../b'));
  assert.equal(isContainedLinkTarget('a/b', '../c'), true);
  assert.equal(isContainedLinkTarget('a/b', '../../c'), false);
  assert.equal(isContainedLinkTarget('a', 'x/../..'), false);
  assert.equal(isContainedLinkTarget('a/b', 's/..'), false);
  assert.equal(isContainedLinkTarget('a', ''), false);
});
