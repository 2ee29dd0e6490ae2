import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidArgumentError } from '../../core/errors.js';
import { computeConfigKey } from './records.js';
import { parseServiceSpec, parseServiceSpecs } from './spec.js';
import { buildTaskInfo } from './task-info.js';
import { serviceDoc } from './test-support.js';

const bad = (doc: Record<string, unknown>, message: RegExp): void =>
  assert.throws(
    () => parseServiceSpec(doc, 'services[0]'),
    (err: unknown) => err instanceof InvalidArgumentError && message.test(err.message),
  );

describe('parseServiceSpec', () => {
  it('fills Marathon-like defaults', () => {
    const spec = parseServiceSpec({ id: 'shop/web', image: 'busybox' });
    assert.equal(spec.id, '/shop/web');
    assert.equal(spec.instances, 1);
    assert.deepEqual(spec.upgradeStrategy, {
      type: 'rolling',
      minimumHealthCapacity: 1,
      maximumOverCapacity: 1,
    });
    assert.deepEqual(spec.backoff, { seconds: 1, factor: 1.15, maxSeconds: 300 });
    assert.deepEqual(spec.unreachableStrategy, { inactiveAfterSeconds: 300, expungeAfterSeconds: 600 });
    assert.equal(spec.killSelection, 'YOUNGEST_FIRST');
    assert.equal(spec.progressDeadlineSeconds, 600);
    assert.equal(spec.role, '*');
    assert.deepEqual(spec.resources.ports, []);
  });

  it('reads ports as a count or as names, checks and constraints', () => {
    assert.equal(parseServiceSpec(serviceDoc({ resources: { ports: 2 } })).resources.ports.length, 2);
    const spec = parseServiceSpec(
      serviceDoc({
        resources: { cpus: 1, mem: 256, ports: ['http', 'admin'] },
        healthChecks: [{ protocol: 'http', path: '/health', portName: 'admin', intervalSeconds: 2 }],
        readinessCheck: { protocol: 'TCP' },
        constraints: [['hostname', 'UNIQUE'], { field: 'rack', operator: 'GROUP_BY', value: '2' }],
        upgradeStrategy: { type: 'blueGreen' },
        unreachableStrategy: 'disabled',
      }),
    );
    assert.deepEqual(spec.resources.ports, [{ name: 'http' }, { name: 'admin' }]);
    assert.equal(spec.healthChecks[0]?.protocol, 'HTTP');
    assert.equal(spec.healthChecks[0]?.gracePeriodSeconds, 300);
    assert.equal(spec.readinessCheck?.portIndex, 0);
    assert.equal(spec.constraints.length, 2);
    assert.equal(spec.unreachableStrategy, 'disabled');
  });

  it('names the field of every error', () => {
    bad(serviceDoc({ instances: -1 }), /^services\[0\]\.instances: must be >= 0/);
    bad(serviceDoc({ instances: '3' }), /^services\[0\]\.instances: must be a number, got string/);
    bad(serviceDoc({ instanzes: 3 }), /^services\[0\]\.instanzes: unknown field/);
    bad(serviceDoc({ resources: { cpu: 1 } }), /^services\[0\]\.resources\.cpu: unknown field/);
    bad(
      serviceDoc({ constraints: [['hostname', 'NEAR']] }),
      /^services\[0\]\.constraints\[0\]: unknown operator "NEAR"/,
    );
    bad(
      serviceDoc({ healthChecks: [{ protocol: 'HTTP', portIndex: 3 }] }),
      /healthChecks\[0\]\.portIndex: needs port index 3/,
    );
    bad(
      serviceDoc({ healthChecks: [{ protocol: 'UDP' }] }),
      /healthChecks\[0\]\.protocol: must be one of HTTP, TCP, COMMAND/,
    );
    bad(serviceDoc({ id: '/Shop Web' }), /^services\[0\]\.id: "\/Shop Web" is not a service id/);
    bad(serviceDoc({ kind: 'Job' }), /^services\[0\]\.kind: must be "Service"/);
    bad(serviceDoc({ env: { A: ['x'] } }), /^services\[0\]\.env\.A: must be a string/);
    bad(
      serviceDoc({ upgradeStrategy: { minimumHealthCapacity: 1.5 } }),
      /minimumHealthCapacity: must be <= 1/,
    );
    bad(
      serviceDoc({ upgradeStrategy: { minimumHealthCapacity: 1, maximumOverCapacity: 0 } }),
      /can never replace/,
    );
    bad(
      serviceDoc({ killSelection: 'RANDOM' }),
      /killSelection: must be one of YOUNGEST_FIRST, OLDEST_FIRST/,
    );
    bad({ id: '/x' }, /^services\[0\]: give an image, or a command/);
    bad(serviceDoc({ resources: { ports: ['http', 'http'] } }), /duplicate port name "http"/);
  });

  it('rejects a duplicate id across documents', () => {
    assert.throws(
      () => parseServiceSpecs([serviceDoc(), serviceDoc({ id: 'shop/web' })]),
      /services\[1\]\.id: duplicate id "\/shop\/web" \(also services\[0\]\)/,
    );
  });
});

describe('computeConfigKey', () => {
  it('changes with what tasks run, not with instances or strategy', () => {
    const base = parseServiceSpec(serviceDoc());
    const key = computeConfigKey(base, '');
    assert.equal(computeConfigKey({ ...base, instances: 9, killSelection: 'OLDEST_FIRST' }, ''), key);
    assert.notEqual(computeConfigKey({ ...base, env: { A: '1' } }, ''), key);
    assert.notEqual(computeConfigKey(base, 'restart-1'), key);
  });
});

describe('buildTaskInfo', () => {
  it('sets ports in the env, the checks on host ports, and uris for a command', () => {
    const spec = parseServiceSpec({
      id: '/legacy/app',
      command: 'java -jar app.jar --port $PORT0',
      uris: ['https://example.test/app.tgz', { value: 'file:///srv/app.jar', extract: false }],
      resources: { ports: ['http', 'jmx-port'] },
      healthChecks: [{ protocol: 'HTTP', path: '/ok', portName: 'http' }],
      readinessCheck: { protocol: 'COMMAND', command: 'test -f ready' },
    });
    const t = buildTaskInfo(spec, 'v1', 'legacy_app.1', {
      agentId: 'a1',
      hostname: 'node-1',
      resources: [],
      ports: [31005, 31006],
    });
    const env = Object.fromEntries(t.command!.environment!.variables.map((v) => [v.name, v.value]));
    assert.deepEqual(
      {
        PORT0: env.PORT0,
        PORT1: env.PORT1,
        PORT_HTTP: env.PORT_HTTP,
        PORT_JMX_PORT: env.PORT_JMX_PORT,
        PORTS: env.PORTS,
        HOST: env.HOST,
      },
      {
        PORT0: '31005',
        PORT1: '31006',
        PORT_HTTP: '31005',
        PORT_JMX_PORT: '31006',
        PORTS: '31005,31006',
        HOST: 'node-1',
      },
    );
    assert.equal(t.command?.shell, true);
    assert.equal(t.command?.uris?.length, 2);
    assert.equal(t.container, undefined);
    assert.deepEqual(t.health_check?.http, { port: 31005, path: '/ok' });
    assert.equal(t.check?.type, 'COMMAND');
  });
});
