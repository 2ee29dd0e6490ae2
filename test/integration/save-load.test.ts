/**
 * `berth save` / `berth load` and interop with real tools: skopeo reads what berth saves, berth loads
 * what skopeo writes (oci-archive and docker-archive), and an image built by buildah runs under
 * `berth run`. Hostile archives are refused with one clear line.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildTar } from '../../src/image/test-fixtures.js';
import { canUseRunc, Cluster } from './harness.js';

const skip = canUseRunc();
const has = (tool: string): boolean => spawnSync(tool, ['--version'], { stdio: 'ignore' }).status === 0;

function run(tool: string, args: string[]): { code: number; out: string } {
  const r = spawnSync(tool, args, { encoding: 'utf8', timeout: 300_000 });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

describe('save, load and interop', { skip }, () => {
  let cluster: Cluster;
  let dir: string;
  before(async () => {
    cluster = await Cluster.start();
    await cluster.importBusybox();
    dir = mkdtempSync(join(tmpdir(), 'berth-archive-'));
    const r = await cluster.cli([
      'run',
      '--name',
      'mod',
      'busybox',
      'sh',
      '-c',
      'echo saved > /saved; rm /etc/group',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await cluster.cli(['commit', 'mod', 'saved:1'])).code, 0);
  });
  after(async () => {
    rmSync(dir, { recursive: true, force: true });
    await cluster?.destroy();
  });

  test('save then load round-trips, with the same manifest digest', async () => {
    const file = join(dir, 'saved.tar');
    const s = await cluster.cli(['save', 'saved:1', '-o', file]);
    assert.equal(s.code, 0, s.stderr);
    const inspect = JSON.parse((await cluster.cli(['inspect', 'saved:1'])).stdout) as Array<{
      manifestDigest: string;
    }>;
    assert.equal((await cluster.cli(['rmi', 'saved:1'])).code, 0);
    const l = await cluster.cli(['load', '-i', file]);
    assert.equal(l.code, 0, l.stderr);
    assert.equal(l.stdout.trim(), `Loaded saved:1 ${inspect[0]?.manifestDigest}`);
    const r = await cluster.cli(['run', '--rm', 'saved:1', 'sh', '-c', 'cat /saved; ls /etc']);
    assert.equal(r.stdout, 'saved\npasswd\n');
  });

  test(
    'skopeo reads what berth saves; berth loads what skopeo writes',
    { skip: has('skopeo') ? false : 'skopeo not installed' },
    async () => {
      const file = join(dir, 'for-skopeo.tar');
      assert.equal((await cluster.cli(['save', 'saved:1', '-o', file])).code, 0);
      const layout = join(dir, 'layout');
      const copy = run('skopeo', ['copy', '-q', `oci-archive:${file}`, `oci:${layout}:s`]);
      assert.equal(copy.code, 0, copy.out);
      const oci = join(dir, 'skopeo-oci.tar');
      const docker = join(dir, 'skopeo-docker.tar');
      assert.equal(
        run('skopeo', ['copy', '-q', `oci:${layout}:s`, `oci-archive:${oci}:fromskopeo:oci`]).code,
        0,
      );
      assert.equal(
        run('skopeo', ['copy', '-q', `oci:${layout}:s`, `docker-archive:${docker}:fromskopeo:docker`]).code,
        0,
      );
      for (const [archive, name] of [
        [oci, 'fromskopeo:oci'],
        [docker, 'fromskopeo:docker'],
      ] as const) {
        const l = await cluster.cli(['load', '-i', archive]);
        assert.equal(l.code, 0, l.stderr);
        assert.match(l.stdout, new RegExp(`^Loaded ${name} sha256:`));
        const r = await cluster.cli(['run', '--rm', name, 'cat', '/saved']);
        assert.equal(r.stdout, 'saved\n', `${name}: ${r.stderr}`);
      }
    },
  );

  test(
    'an image built by buildah loads and runs',
    { skip: has('buildah') ? false : 'buildah not installed' },
    async (t) => {
      const ctx = join(dir, 'buildah-ctx');
      mkdirSync(ctx);
      copyFileSync('/bin/busybox', join(ctx, 'busybox'));
      writeFileSync(
        join(ctx, 'Containerfile'),
        'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "sh", "-c", "/bin/busybox --install -s /bin && echo built-by-buildah > /hello"]\nCMD ["/bin/cat", "/hello"]\n',
      );
      const storage = [
        '--storage-driver',
        'vfs',
        '--root',
        join(dir, 'buildah-root'),
        '--runroot',
        join(dir, 'buildah-run'),
      ];
      const bud = run('buildah', [
        ...storage,
        'bud',
        '--layers',
        '--isolation',
        'chroot',
        '-t',
        'bbtest:1',
        ctx,
      ]);
      if (bud.code !== 0) {
        t.skip(`buildah cannot build here: ${bud.out.split('\n').slice(-3).join(' ')}`);
        return;
      }
      const archive = join(dir, 'buildah.tar');
      const push = run('buildah', [...storage, 'push', 'bbtest:1', `oci-archive:${archive}:bbtest:1`]);
      assert.equal(push.code, 0, push.out);
      const l = await cluster.cli(['load', '-i', archive]);
      assert.equal(l.code, 0, l.stderr);
      const r = await cluster.cli(['run', '--rm', 'bbtest:1']);
      assert.equal(r.stdout, 'built-by-buildah\n', r.stderr);
      run('buildah', [...storage, 'rmi', '--all', '--force']);
    },
  );

  test('hostile archives are refused with one clear line', async () => {
    const cases: Array<[string, Buffer]> = [
      ['path traversal', await buildTar([{ name: '../../etc/evil', body: 'x' }])],
      ['absolute path', await buildTar([{ name: '/etc/evil', body: 'x' }])],
      ['symlink out', await buildTar([{ name: 'index.json', type: 'symlink', linkname: '/etc/passwd' }])],
      [
        'blob not matching its name',
        await buildTar([
          { name: 'oci-layout', body: '{"imageLayoutVersion":"1.0.0"}' },
          { name: `blobs/sha256/${'0'.repeat(64)}`, body: 'not the content' },
        ]),
      ],
      [
        'index pointing at a missing blob',
        await buildTar([
          {
            name: 'index.json',
            body: JSON.stringify({
              schemaVersion: 2,
              manifests: [
                {
                  mediaType: 'application/vnd.oci.image.manifest.v1+json',
                  digest: `sha256:${'1'.repeat(64)}`,
                  size: 2,
                },
              ],
            }),
          },
        ]),
      ],
      [
        'docker layer path outside',
        await buildTar([{ name: 'manifest.json', body: '[{"Config":"../c.json","Layers":[]}]' }]),
      ],
      ['not an archive', Buffer.from('hello, not a tar at all, but long enough to look like one'.repeat(20))],
    ];
    for (const [name, bytes] of cases) {
      const file = join(dir, `hostile-${name.replace(/\W+/g, '-')}.tar`);
      writeFileSync(file, bytes);
      const r = await cluster.cli(['load', '-i', file]);
      assert.notEqual(r.code, 0, `${name}: should be refused`);
      assert.equal(r.stderr.trim().split('\n').length, 1, `${name}: ${r.stderr}`);
      assert.match(r.stderr, /^berth: /, name);
    }
  });
});
