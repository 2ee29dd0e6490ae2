/**
 * `berth push`, `berth pull`, `berth login` and pull on demand, end to end: the built CLI and `berth up`
 * against Debian's docker-registry (the real peer), checked with skopeo. One test uses a fake registry
 * that damages a blob in transit (a fake at the network boundary).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createBusyboxRootfs } from '../../src/cli/busybox-rootfs.js';
import { ImageStore, ImageTransferService, type ResolvedImage } from '../../src/image/index.js';
import { FakeRegistry } from '../../src/image/client/test-registry.js';
import { BERTH, Cluster, type CliResult } from './harness.js';
import { DockerRegistry, htpasswdMissing, registryMissing } from './pull-push-registry.js';

const skip = registryMissing();
if (skip) console.log(`# skipping pull/push integration tests: ${skip}`);

async function localImage(cluster: Cluster, ref: string): Promise<ResolvedImage> {
  const res = await fetch(`${cluster.url}/api/v1/images/${encodeURIComponent(ref)}`);
  assert.equal(res.status, 200);
  return (await res.json()) as ResolvedImage;
}

function skopeoInspect(ref: string): { Digest: string; Layers: string[] } | string {
  const r = spawnSync('skopeo', ['inspect', '--tls-verify=false', `docker://${ref}`], { encoding: 'utf8' });
  if (r.error) return 'skopeo is not installed';
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as { Digest: string; Layers: string[] };
}

/** `berth ARGS` with `input` on stdin (the harness's runCli gives no stdin). */
function cliWithInput(cluster: Cluster, args: string[], input: string): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BERTH, ...args], {
      env: cluster.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(input);
  });
}

describe('berth push and pull against docker-registry', { skip }, () => {
  let registry: DockerRegistry;
  let source: Cluster;
  let ref: string;
  before(async () => {
    registry = await DockerRegistry.start();
    ref = `${registry.host}/test/busybox:1`;
    source = await Cluster.start(['--runtime', 'process']);
    await source.importBusybox(ref);
  });
  after(async () => {
    await source?.destroy();
    await registry?.stop();
  });

  test('push sends every blob and the manifest; skopeo sees the same layers', async () => {
    const r = await source.cli(['push', '--insecure', ref]);
    assert.equal(r.code, 0, r.stderr);
    const image = await localImage(source, ref);
    assert.equal(r.stdout, `${ref} ${image.manifestDigest}\n`);
    assert.equal((r.stderr.match(/^pushing sha256:[0-9a-f]{12}… \S+B done$/gm) ?? []).length, 2, r.stderr);
    const remote = skopeoInspect(ref);
    if (typeof remote === 'string') return console.log(`# skopeo check skipped: ${remote}`);
    assert.equal(remote.Digest, image.manifestDigest);
    assert.deepEqual(
      remote.Layers,
      image.layers.map((l) => l.digest),
    );
  });

  test('pushing again sends no blob: HEAD finds each one', async () => {
    const uploadsBefore = registry.count(/"(POST|PATCH) \/v2\/test\/busybox\/blobs\/uploads/);
    const r = await source.cli(['push', '--insecure', ref]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((r.stderr.match(/^pushing sha256:\S+ \S+B exists$/gm) ?? []).length, 2, r.stderr);
    assert.doesNotMatch(r.stderr, /done/);
    assert.equal(registry.count(/"(POST|PATCH) \/v2\/test\/busybox\/blobs\/uploads/), uploadsBefore);
  });

  test('a reference without a registry host is refused in one line', async () => {
    const r = await source.cli(['push', 'busybox:latest']);
    assert.notEqual(r.code, 0);
    assert.equal(
      r.stderr,
      'berth: cannot push "busybox:latest": it names no registry (berth has no default one); name the registry host, e.g. 127.0.0.1:5000/busybox:latest\n',
    );
  });

  describe('in a fresh berth up', () => {
    let fresh: Cluster;
    before(async () => {
      process.env.BERTH_INSECURE_REGISTRIES = registry.host; // inherited by the berth up process
      fresh = await Cluster.start(); // runc where it can run: the pulled layers become the overlay's lower dirs
      delete process.env.BERTH_INSECURE_REGISTRIES;
    });
    after(() => fresh?.destroy());

    test('berth run pulls on demand, and two concurrent runs share one pull', async () => {
      const manifestsBefore = registry.count(/"GET \/v2\/test\/busybox\/manifests\/1 /);
      const blobsBefore = registry.count(/"GET \/v2\/test\/busybox\/blobs\//);
      const [one, two] = await Promise.all([
        fresh.cli(['run', '--rm', ref, 'echo', 'pulled']),
        fresh.cli(['run', '--rm', ref, 'echo', 'pulled']),
      ]);
      assert.equal(one.code, 0, one.stderr);
      assert.equal(one.stdout, 'pulled\n');
      assert.equal(two.code, 0, two.stderr);
      assert.equal(two.stdout, 'pulled\n');
      assert.equal(registry.count(/"GET \/v2\/test\/busybox\/manifests\/1 /) - manifestsBefore, 1);
      assert.equal(
        registry.count(/"GET \/v2\/test\/busybox\/blobs\//) - blobsBefore,
        2,
        'config and layer, once each',
      );
      const images = await fresh.cli(['images']);
      assert.match(
        images.stdout,
        new RegExp(`^${registry.host.replace(/\./g, '\\.')}/test/busybox\\s+1\\s`, 'm'),
      );
    });

    test('berth pull of a present image fetches no blob', async () => {
      const r = await fresh.cli(['pull', ref]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal((r.stderr.match(/^pulling sha256:\S+ \S+B exists$/gm) ?? []).length, 2, r.stderr);
      assert.match(r.stdout, new RegExp(`^${ref.replace(/\./g, '\\.')} sha256:[0-9a-f]{64}\\n$`));
    });

    test('a wrong tag is one clear line and a non-zero exit', async () => {
      const r = await fresh.cli(['pull', `${registry.host}/test/busybox:nope`]);
      assert.notEqual(r.code, 0);
      assert.equal(
        r.stderr,
        `berth: manifest for ${registry.host}/test/busybox:nope not found in the registry: check the repository name and the tag\n`,
      );
    });

    test('plain HTTP is refused unless the registry is insecure', async () => {
      const r = await source.cli(['pull', ref]);
      assert.notEqual(r.code, 0);
      assert.match(
        r.stderr,
        /^berth: cannot reach the registry at https:\/\/127\.0\.0\.1:\d+: TLS failed .*--insecure/,
      );
      assert.equal(r.stderr.split('\n').length, 2, 'one line');
    });
  });

  test('chunked uploads and cross-repo mounts work with the real registry', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-chunks-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    createBusyboxRootfs(join(dir, 'rootfs'));
    const images = await ImageStore.open(join(dir, 'images'));
    const service = new ImageTransferService(images, {
      insecureRegistries: [registry.host],
      chunks: { threshold: 256 * 1024, size: 200 * 1024 },
    });
    const chunked = `${registry.host}/test/chunked:1`;
    await images.importRootfs(join(dir, 'rootfs'), chunked);
    const patchesBefore = registry.count(/"PATCH \/v2\/test\/chunked\//);
    await service.push({ reference: chunked });
    assert.ok(
      registry.count(/"PATCH \/v2\/test\/chunked\//) - patchesBefore >= 2,
      'the layer went in chunks',
    );
    const pulled = await new ImageTransferService(await ImageStore.open(join(dir, 'other')), {
      insecureRegistries: [registry.host],
    }).pull({ reference: chunked });
    assert.equal(pulled.digest, (await images.resolve(chunked)).manifestDigest);

    await images.tag(chunked, `${registry.host}/test/mounted:1`);
    const result = await service.push({ reference: `${registry.host}/test/mounted:1` });
    assert.deepEqual(
      result.blobs.map((b) => b.action),
      ['mounted', 'mounted'],
    );
    assert.equal(
      registry.count(
        /"POST \/v2\/test\/mounted\/blobs\/uploads\/\?mount=sha256%3A\w+&from=test%2Fchunked HTTP\/1\.1" 201/,
      ),
      2,
    );
  });
});

describe('registry login against docker-registry with htpasswd', { skip: skip ?? htpasswdMissing() }, () => {
  let registry: DockerRegistry;
  let cluster: Cluster;
  before(async () => {
    registry = await DockerRegistry.start({ users: { ci: 's3cret' } });
    cluster = await Cluster.start(['--runtime', 'process']);
    await cluster.importBusybox(`${registry.host}/private/busybox:1`);
  });
  after(async () => {
    await cluster?.destroy();
    await registry?.stop();
  });

  test('push without login says to log in; a wrong password is refused; login, push, logout', async () => {
    const ref = `${registry.host}/private/busybox:1`;
    const denied = await cluster.cli(['push', '--insecure', ref]);
    assert.notEqual(denied.code, 0);
    assert.equal(
      denied.stderr,
      `berth: registry ${registry.host} refused access: it needs credentials; log in with \`berth login ${registry.host}\`\n`,
    );
    const wrong = await cliWithInput(
      cluster,
      ['login', '--insecure', '-u', 'ci', '--password-stdin', registry.host],
      'nope\n',
    );
    assert.notEqual(wrong.code, 0);
    assert.match(
      wrong.stderr,
      /^berth: registry 127\.0\.0\.1:\d+ refused access: the credentials were not accepted/,
    );
    const login = await cliWithInput(
      cluster,
      ['login', '--insecure', '-u', 'ci', '--password-stdin', registry.host],
      's3cret\n',
    );
    assert.equal(login.code, 0, login.stderr);
    const authFile = join(cluster.home, 'auth.json');
    assert.equal(statSync(authFile).mode & 0o777, 0o600);
    const pushed = await cluster.cli(['push', '--insecure', ref]);
    assert.equal(pushed.code, 0, pushed.stderr);
    const logout = await cluster.cli(['logout', registry.host]);
    assert.equal(logout.code, 0, logout.stderr);
    assert.equal(logout.stdout, `removed the credentials for ${registry.host}\n`);
  });
});

describe('a blob damaged in transit', () => {
  let fake: FakeRegistry;
  let cluster: Cluster;
  before(async () => {
    fake = await new FakeRegistry().start();
    cluster = await Cluster.start(['--runtime', 'process']);
  });
  after(async () => {
    await cluster?.destroy();
    await fake?.stop();
  });

  test('is rejected in one line and leaves no image', async () => {
    const ref = `${fake.host}/bad/busybox:1`;
    await cluster.importBusybox(ref);
    const pushed = await cluster.cli(['push', '--insecure', ref]);
    assert.equal(pushed.code, 0, pushed.stderr);
    const image = await localImage(cluster, ref);
    const layer = image.layers[0]!.digest;
    fake.corrupt.add(layer);
    const fresh = await Cluster.start(['--runtime', 'process']);
    try {
      const r = await fresh.cli(['pull', '--insecure', ref]);
      assert.notEqual(r.code, 0);
      const host = fake.host.replace(/\./g, '\\.');
      // Progress lines of blobs that arrived whole may come first; the error is the one last line.
      const errors = r.stderr.split('\n').filter((line) => line.startsWith('berth:'));
      assert.equal(errors.length, 1, r.stderr);
      assert.match(
        errors[0]!,
        new RegExp(
          `^berth: ${layer} from ${host}/bad/busybox arrived as sha256:[0-9a-f]{64}: the registry served damaged data; nothing was stored, try again$`,
        ),
      );
      const images = await fresh.cli(['images']);
      assert.doesNotMatch(images.stdout, /bad\/busybox/);
    } finally {
      await fresh.destroy();
    }
  });
});
