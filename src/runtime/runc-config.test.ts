import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseProcLimits } from './host-limits.js';
import { computeRlimits, computeRuntimeConfig, DEFAULT_CAPABILITIES } from './runc-config.js';
import type { LaunchSpec } from './types.js';

function mockSpec(overrides: Partial<LaunchSpec> = {}): LaunchSpec {
  return {
    id: 'web.1-a_b',
    sandbox: '/var/lib/berth/sandboxes/web.1',
    args: ['/bin/server', '--port', '8080'],
    env: { PATH: '/bin', GREETING: 'a=b c' },
    rootfs: '/var/lib/berth/rootfs/web.1',
    resources: { cpus: 1.5, memMiB: 256 },
    ...overrides,
  };
}

const HOST = parseProcLimits('Limit  Soft Limit  Hard Limit  Units\nMax open files  20000  20000  files\n');

test('process: args, env as K=V, cwd and user', () => {
  const config = computeRuntimeConfig(mockSpec({ cwd: '/app', user: { uid: 1000, gid: 100 } }), HOST);
  assert.deepEqual(config.process.args, ['/bin/server', '--port', '8080']);
  assert.deepEqual(config.process.env, ['PATH=/bin', 'GREETING=a=b c']);
  assert.equal(config.process.cwd, '/app');
  assert.deepEqual(config.process.user, { uid: 1000, gid: 100 });
  assert.equal(config.process.terminal, false);
  assert.equal(config.process.noNewPrivileges, true);
});

test('defaults: cwd /, root user, and a PATH when the env has none', () => {
  const config = computeRuntimeConfig(mockSpec({ cwd: undefined, user: undefined, env: { A: '1' } }), HOST);
  assert.equal(config.process.cwd, '/');
  assert.deepEqual(config.process.user, { uid: 0, gid: 0 });
  assert.match(config.process.env[0] ?? '', /^PATH=\/usr\/local\/sbin:/);
  assert.equal(config.process.env[1], 'A=1');
});

test('hostname is the task id; rootfs is writable', () => {
  const config = computeRuntimeConfig(mockSpec(), HOST);
  assert.equal(config.hostname, 'web.1-a_b');
  assert.deepEqual(config.root, { path: '/var/lib/berth/rootfs/web.1', readonly: false });
  assert.equal(config.linux.cgroupsPath, '/berth/web.1-a_b');
});

test('a hostname longer than HOST_NAME_MAX is cut to 64 characters; the cgroup keeps the full id', () => {
  const id = 'x'.repeat(80);
  const config = computeRuntimeConfig(mockSpec({ id }), HOST);
  assert.equal(config.hostname, 'x'.repeat(64));
  assert.equal(config.linux.cgroupsPath, `/berth/${id}`);
});

test('namespaces: pid, ipc, uts, mount and no network namespace (host networking)', () => {
  const types = computeRuntimeConfig(mockSpec(), HOST).linux.namespaces.map((n) => n.type);
  assert.deepEqual([...types].sort(), ['ipc', 'mount', 'pid', 'uts']);
  assert.ok(!types.includes('network'));
});

test('resources: memory bytes, cpu shares and quota over a 100 ms period', () => {
  const { resources } = computeRuntimeConfig(mockSpec({ resources: { cpus: 1.5, memMiB: 256 } }), HOST).linux;
  assert.deepEqual(resources.memory, { limit: 256 * 1024 * 1024 });
  assert.deepEqual(resources.cpu, { shares: 1536, quota: 150_000, period: 100_000 });
  assert.deepEqual(resources.devices, [{ allow: false, access: 'rwm' }]);
});

test('resources: tiny cpu shares stay above the kernel minimums', () => {
  const { resources } = computeRuntimeConfig(mockSpec({ resources: { cpus: 0.001, memMiB: 0 } }), HOST).linux;
  assert.deepEqual(resources.cpu, { shares: 2, quota: 1000, period: 100_000 });
  assert.equal(resources.memory, undefined);
});

test('capabilities: runc default set in bounding, effective and permitted', () => {
  const { capabilities } = computeRuntimeConfig(mockSpec(), HOST).process;
  for (const set of [capabilities.bounding, capabilities.effective, capabilities.permitted]) {
    assert.deepEqual(set, [...DEFAULT_CAPABILITIES]);
  }
  assert.equal(DEFAULT_CAPABILITIES.length, 14);
  assert.ok(!DEFAULT_CAPABILITIES.includes('CAP_SYS_ADMIN'));
});

test('mounts and masked paths follow `runc spec`', () => {
  const config = computeRuntimeConfig(mockSpec(), HOST);
  assert.deepEqual(
    config.mounts.map((m) => m.destination),
    ['/proc', '/dev', '/dev/pts', '/dev/shm', '/dev/mqueue', '/sys', '/sys/fs/cgroup'],
  );
  assert.ok(config.mounts.find((m) => m.destination === '/sys/fs/cgroup')?.options?.includes('ro'));
  assert.ok(config.linux.maskedPaths.includes('/proc/kcore'));
  assert.ok(config.linux.readonlyPaths.includes('/proc/sys'));
});

test('bind mounts from the spec come after the defaults, rw unless readonly', () => {
  const config = computeRuntimeConfig(
    mockSpec({
      mounts: [
        { source: '/sb/files', destination: '/mnt/mesos/sandbox' },
        { source: '/etc/ro', destination: '/ro', readonly: true },
      ],
    }),
    HOST,
  );
  assert.deepEqual(config.mounts.slice(-2), [
    {
      destination: '/mnt/mesos/sandbox',
      type: 'bind',
      source: '/sb/files',
      options: ['rbind', 'rprivate', 'rw'],
    },
    { destination: '/ro', type: 'bind', source: '/etc/ro', options: ['rbind', 'rprivate', 'ro'] },
  ]);
});

test('rlimits: NOFILE 1024 when the host allows it', () => {
  assert.deepEqual(computeRlimits(HOST), [{ type: 'RLIMIT_NOFILE', soft: 1024, hard: 1024 }]);
  assert.deepEqual(computeRlimits({}), [{ type: 'RLIMIT_NOFILE', soft: 1024, hard: 1024 }]);
});

test('rlimits: clamped to a lower host hard limit', () => {
  const low = parseProcLimits('Max open files            256                  512                  files\n');
  assert.deepEqual(computeRlimits(low), [{ type: 'RLIMIT_NOFILE', soft: 512, hard: 512 }]);
  const config = computeRuntimeConfig(mockSpec(), { RLIMIT_NOFILE: 100 });
  assert.deepEqual(config.process.rlimits, [{ type: 'RLIMIT_NOFILE', soft: 100, hard: 100 }]);
});

test('parseProcLimits reads hard limits, unlimited as Infinity', () => {
  const limits = parseProcLimits(
    [
      'Limit                     Soft Limit           Hard Limit           Units     ',
      'Max cpu time              unlimited            unlimited            seconds   ',
      'Max open files            1024                 524288               files     ',
      'Max processes             63432                63432                processes ',
    ].join('\n'),
  );
  assert.deepEqual(limits, { RLIMIT_CPU: Infinity, RLIMIT_NOFILE: 524288, RLIMIT_NPROC: 63432 });
});

test('the config does not share arrays with the defaults (callers may edit it)', () => {
  const a = computeRuntimeConfig(mockSpec(), HOST);
  a.mounts[0]?.options?.push('x');
  a.process.capabilities.bounding.push('CAP_SYS_ADMIN');
  const b = computeRuntimeConfig(mockSpec(), HOST);
  assert.ok(!b.process.capabilities.bounding.includes('CAP_SYS_ADMIN'));
  assert.equal(b.mounts[0]?.options, undefined);
});
