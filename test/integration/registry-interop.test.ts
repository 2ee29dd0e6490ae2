/**
 * berth's registry against a real client: skopeo pushes an OCI layout (a busybox image made by the
 * ImageStore) to `berth registry`, inspects it, pulls it back and compares digests; also Docker schema 2,
 * cross-repository copies (blob mounts), tag listing, deletion and basic auth.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createBusyboxRootfs } from '../../src/cli/busybox-rootfs.js';
import { ImageStore } from '../../src/image/index.js';
import { BERTH } from './harness.js';

const skip =
  spawnSync('skopeo', ['--version']).status === 0 ? undefined : 'needs skopeo (apt-get install skopeo)';
const work = mkdtempSync(join(tmpdir(), 'berth-registry-interop-'));
const policy = join(work, 'policy.json');
writeFileSync(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));

interface Served {
  child: ChildProcess;
  host: string;
}

/** `berth registry` on a free port, as a user would run it. */
async function serve(args: string[]): Promise<Served> {
  const child = spawn(process.execPath, [BERTH, 'registry', '--port', '0', ...args], {
    env: { ...process.env, BERTH_HOME: work, BERTH_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const match = /registry is up: http:\/\/(\S+)/.exec(output);
    if (match) return { child, host: match[1]! };
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill();
  throw new Error(`berth registry did not start:\n${output}`);
}

async function stop(served: Served | undefined): Promise<void> {
  if (!served || served.child.exitCode !== null) return;
  const exited = new Promise((r) => served.child.once('exit', r));
  served.child.kill('SIGTERM');
  await exited;
}

function skopeo(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync('skopeo', ['--policy', policy, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function ok(args: string[]): string {
  const r = skopeo(args);
  assert.equal(r.code, 0, `skopeo ${args.join(' ')}:\n${r.stderr}`);
  return r.stdout;
}

interface OciIndexFile {
  manifests: Array<{ digest: string }>;
}

function layout(dir: string): {
  manifestDigest: string;
  manifest: { config: { digest: string }; layers: Array<{ digest: string }> };
} {
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as OciIndexFile;
  const manifestDigest = index.manifests[0]!.digest;
  const manifest = JSON.parse(
    readFileSync(join(dir, 'blobs', 'sha256', manifestDigest.slice(7)), 'utf8'),
  ) as {
    config: { digest: string };
    layers: Array<{ digest: string }>;
  };
  return { manifestDigest, manifest };
}

describe('skopeo against berth registry', { skip }, () => {
  let served: Served | undefined;
  const source = join(work, 'source');
  before(async () => {
    const rootfs = join(work, 'rootfs');
    createBusyboxRootfs(rootfs);
    const store = await ImageStore.open(source);
    await store.importRootfs(rootfs, 'busybox:latest');
    served = await serve(['--data-dir', join(work, 'registry')]);
  });
  after(async () => {
    await stop(served);
    rmSync(work, { recursive: true, force: true });
  });

  test('push an OCI layout, inspect it, pull it back: same manifest and layers', () => {
    const host = served!.host;
    const src = layout(source);
    ok([
      'copy',
      '--dest-tls-verify=false',
      `oci:${source}:busybox:latest`,
      `docker://${host}/test/busybox:1`,
    ]);
    const inspected = JSON.parse(
      ok(['inspect', '--tls-verify=false', `docker://${host}/test/busybox:1`]),
    ) as {
      Digest: string;
      Layers: string[];
      RepoTags: string[];
    };
    assert.equal(inspected.Digest, src.manifestDigest);
    assert.deepEqual(
      inspected.Layers,
      src.manifest.layers.map((l) => l.digest),
    );
    assert.deepEqual(inspected.RepoTags, ['1']);
    const out = join(work, 'out');
    ok(['copy', '--src-tls-verify=false', `docker://${host}/test/busybox:1`, `oci:${out}:latest`]);
    const pulled = layout(out);
    assert.equal(pulled.manifestDigest, src.manifestDigest);
    assert.deepEqual(
      pulled.manifest.layers.map((l) => l.digest),
      src.manifest.layers.map((l) => l.digest),
    );
    assert.equal(pulled.manifest.config.digest, src.manifest.config.digest);
  });

  test('Docker schema 2 push, cross-repository copy, tags, delete', () => {
    const host = served!.host;
    ok([
      'copy',
      '--format',
      'v2s2',
      '--dest-tls-verify=false',
      `oci:${source}:busybox:latest`,
      `docker://${host}/test/docker:v2`,
    ]);
    const raw = JSON.parse(
      ok(['inspect', '--raw', '--tls-verify=false', `docker://${host}/test/docker:v2`]),
    ) as { mediaType: string };
    assert.equal(raw.mediaType, 'application/vnd.docker.distribution.manifest.v2+json');
    ok([
      'copy',
      '--src-tls-verify=false',
      '--dest-tls-verify=false',
      `docker://${host}/test/busybox:1`,
      `docker://${host}/other/busybox:2`,
    ]);
    const tags = JSON.parse(ok(['list-tags', '--tls-verify=false', `docker://${host}/other/busybox`])) as {
      Tags: string[];
    };
    assert.deepEqual(tags.Tags, ['2']);
    ok(['delete', '--tls-verify=false', `docker://${host}/other/busybox:2`]);
    const gone = skopeo(['inspect', '--tls-verify=false', `docker://${host}/other/busybox:2`]);
    assert.notEqual(gone.code, 0);
    assert.match(gone.stderr, /manifest unknown/);
  });

  test('basic auth from an htpasswd file: no creds refused, right creds accepted', async () => {
    const htpasswd = join(work, 'htpasswd');
    writeFileSync(htpasswd, 'alice:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=\n'); // alice / secret
    const secured = await serve(['--data-dir', join(work, 'secured'), '--htpasswd', htpasswd]);
    try {
      const dest = `docker://${secured.host}/private/busybox:1`;
      const denied = skopeo(['copy', '--dest-tls-verify=false', `oci:${source}:busybox:latest`, dest]);
      assert.notEqual(denied.code, 0);
      assert.match(denied.stderr, /unauthorized|authentication required/i);
      ok([
        'copy',
        '--dest-tls-verify=false',
        '--dest-creds',
        'alice:secret',
        `oci:${source}:busybox:latest`,
        dest,
      ]);
      const wrong = skopeo(['inspect', '--tls-verify=false', '--creds', 'alice:wrong', dest]);
      assert.notEqual(wrong.code, 0);
      ok(['inspect', '--tls-verify=false', '--creds', 'alice:secret', dest]);
    } finally {
      await stop(secured);
    }
  });
});
