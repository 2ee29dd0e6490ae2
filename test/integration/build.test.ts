/**
 * `berth build` end to end: a Dockerfile with every supported instruction builds on runc, the image
 * runs with its config, a rebuild is cached at every step, .dockerignore is honored, a changed file
 * invalidates its COPY and the steps after it, and a failing RUN gives one clear line.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { canUseRunc, Cluster } from './harness.js';

const skip = canUseRunc();

const DOCKERFILE = `# a test image
ARG BASE=busybox
FROM \${BASE}
ARG GREETING=hello
ENV APP=/app \\
    MODE=test
WORKDIR \${APP}
COPY src/ ./src/
ADD bundle.tar.gz /opt/
COPY ["run.sh", "/app/bin/run"]
RUN echo "$GREETING from \${MODE:-none}" > /app/greeting && rm /etc/group
USER nobody
LABEL org.example.name="test app" version=1
EXPOSE 8080 9090/udp
ENTRYPOINT ["/bin/sh", "/app/bin/run"]
CMD ["default-arg"]
`;

describe('berth build on runc', { skip }, () => {
  let cluster: Cluster;
  let ctx: string;
  before(async () => {
    cluster = await Cluster.start();
    await cluster.importBusybox();
    ctx = mkdtempSync(join(tmpdir(), 'berth-build-ctx-'));
    mkdirSync(join(ctx, 'src/skip'), { recursive: true });
    writeFileSync(join(ctx, 'src/a.txt'), 'a\n');
    writeFileSync(join(ctx, 'src/skip/secret'), 'secret\n');
    writeFileSync(join(ctx, 'src/debug.log'), 'log\n');
    writeFileSync(
      join(ctx, 'run.sh'),
      'cat /app/greeting; echo "$@"; ls /app/src; cat /opt/inner/b.txt; id -u\n',
    );
    mkdirSync(join(ctx, 'bundle/inner'), { recursive: true });
    writeFileSync(join(ctx, 'bundle/inner/b.txt'), 'from tar\n');
    execFileSync('tar', ['-czf', join(ctx, 'bundle.tar.gz'), '-C', join(ctx, 'bundle'), 'inner']);
    writeFileSync(join(ctx, '.dockerignore'), 'src/skip\n**/*.log\nbundle\n');
    writeFileSync(join(ctx, 'Dockerfile'), DOCKERFILE);
  });
  after(async () => {
    rmSync(ctx, { recursive: true, force: true });
    await cluster?.destroy();
  });

  test('builds, and the image runs with its config', async () => {
    const r = await cluster.cli(['build', '-t', 'app:1', '--build-arg', 'GREETING=hi', ctx]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /^STEP 1\/14: ARG BASE=busybox$/m);
    assert.match(r.stdout, /^STEP 9\/14: RUN echo/m);
    assert.match(r.stdout, /^Successfully built app:1 sha256:[0-9a-f]{64}$/m);
    const run = await cluster.cli(['run', '--rm', 'app:1']);
    assert.equal(run.code, 0, run.stderr);
    // The image's USER (nobody, uid 65534 in its /etc/passwd) runs the task.
    assert.equal(run.stdout, 'hi from test\ndefault-arg\na.txt\nfrom tar\n65534\n');
    const [image] = JSON.parse((await cluster.cli(['inspect', 'app:1'])).stdout) as Array<{
      config: { config: Record<string, unknown> };
    }>;
    const config = image?.config.config ?? {};
    assert.equal(config.WorkingDir, '/app');
    assert.equal(config.User, 'nobody');
    assert.deepEqual(config.Labels, { 'org.example.name': 'test app', version: '1' });
    assert.deepEqual(Object.keys(config.ExposedPorts as object).sort(), ['8080/tcp', '9090/udp']);
    assert.ok((config.Env as string[]).includes('MODE=test'));
  });

  test('a rebuild with no change is cached at every step and gives the same image', async () => {
    const first = await cluster.cli(['inspect', 'app:1']);
    const r = await cluster.cli(['build', '-t', 'app:1', '--build-arg', 'GREETING=hi', ctx]);
    assert.equal(r.code, 0, r.stderr);
    const steps = r.stdout.split('\n').filter((l) => l.startsWith('STEP '));
    const uncached = steps.filter((l) => !l.endsWith('(cached)') && !/: (FROM|ARG BASE)/.test(l));
    assert.deepEqual(uncached, [], r.stdout);
    const second = await cluster.cli(['inspect', 'app:1']);
    assert.equal(
      (JSON.parse(second.stdout) as Array<{ manifestDigest: string }>)[0]?.manifestDigest,
      (JSON.parse(first.stdout) as Array<{ manifestDigest: string }>)[0]?.manifestDigest,
    );
  });

  test('a changed file invalidates its COPY and what follows; an ignored one does not', async () => {
    writeFileSync(join(ctx, 'src/skip/secret'), 'changed but ignored\n');
    const same = await cluster.cli(['build', '-t', 'app:2', '--build-arg', 'GREETING=hi', ctx]);
    assert.match(same.stdout, /STEP 6\/14: COPY src\/ \.\/src\/ \(cached\)/);
    writeFileSync(join(ctx, 'src/a.txt'), 'a2\n');
    const r = await cluster.cli(['build', '-t', 'app:2', '--build-arg', 'GREETING=hi', ctx]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /STEP 5\/14: WORKDIR \$\{APP\} \(cached\)/);
    assert.match(r.stdout, /STEP 6\/14: COPY src\/ \.\/src\/$/m);
    assert.match(r.stdout, /STEP 9\/14: RUN .*[^)]$/m);
  });

  test('a failing RUN stops the build with one clear line', async () => {
    const bad = mkdtempSync(join(tmpdir(), 'berth-build-bad-'));
    try {
      writeFileSync(join(bad, 'Containerfile'), 'FROM busybox\nRUN echo about to fail; exit 3\n');
      const r = await cluster.cli(['build', '-t', 'bad:1', bad]);
      assert.notEqual(r.code, 0);
      assert.match(r.stdout, /about to fail/);
      assert.match(
        r.stderr,
        /^berth: STEP 2\/2: RUN echo about to fail; exit 3: the command failed \(exit code 3\)$/m,
      );
      const missing = await cluster.cli([
        'build',
        '-t',
        'bad:2',
        '-f',
        join(bad, 'Containerfile'),
        join(bad, 'nope'),
      ]);
      assert.equal(missing.code, 64, missing.stderr);
    } finally {
      rmSync(bad, { recursive: true, force: true });
    }
  });

  test('FROM scratch with COPY and a multi-layer image with whiteouts under runc', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-build-scratch-'));
    try {
      writeFileSync(
        join(dir, 'Dockerfile'),
        'FROM busybox\nRUN mkdir -p /d && echo 1 > /d/a && echo 2 > /d/b\nRUN rm /d/a && echo 3 > /d/c\nRUN rm -rf /d && mkdir /d && echo 4 > /d/only\n',
      );
      const r = await cluster.cli(['build', '-t', 'layers:1', dir]);
      assert.equal(r.code, 0, r.stderr);
      const run = await cluster.cli(['run', '--rm', 'layers:1', 'ls', '/d']);
      assert.equal(run.stdout, 'only\n');
      writeFileSync(join(dir, 'Dockerfile'), 'FROM scratch\nCOPY hello /hello\n');
      writeFileSync(join(dir, 'hello'), 'hello\n');
      const s = await cluster.cli(['build', '-q', '-t', 'scratchy:1', dir]);
      assert.equal(s.code, 0, s.stderr);
      assert.match(s.stdout, /^sha256:[0-9a-f]{64}\n$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
