import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkJobId, checkNoCycle, parseJobSpec } from './spec.js';

test('a minimal Job gets its defaults', () => {
  const spec = parseJobSpec({ kind: 'Job', id: 'hello', command: 'echo hi' });
  assert.deepEqual(spec, {
    kind: 'Job',
    id: 'hello',
    after: [],
    command: 'echo hi',
    resources: { cpus: 0.1, mem: 64 },
    constraints: [],
    role: 'batch',
    completions: 1,
    parallelism: 1,
    restartPolicy: 'OnFailure',
    backoffLimit: 6,
  });
});

test('a full Job: resources with units, uris, env, constraints, deadlines', () => {
  const spec = parseJobSpec({
    apiVersion: 'berth/v1',
    kind: 'Job',
    id: 'etl.extract',
    image: 'busybox',
    command: ['sh', '-c'],
    args: ['echo $X'],
    uris: ['http://example.com/a.tgz', { value: '/srv/tool', executable: true }],
    env: { X: 1 },
    resources: { cpus: 0.5, mem: '128M', disk: 10 },
    constraints: [['hostname', 'UNIQUE']],
    completions: 5,
    parallelism: 2,
    backoffLimit: 2,
    activeDeadlineSeconds: 60,
    ttlSecondsAfterFinished: 0,
    after: ['etl.fetch', 'etl.fetch'],
  });
  assert.equal(spec.resources.mem, 128);
  assert.deepEqual(spec.uris, [
    { value: 'http://example.com/a.tgz' },
    { value: '/srv/tool', executable: true },
  ]);
  assert.deepEqual(spec.env, { X: '1' });
  assert.deepEqual(spec.constraints, [{ field: 'hostname', operator: 'UNIQUE' }]);
  assert.deepEqual(spec.after, ['etl.fetch']);
  assert.equal(spec.ttlSecondsAfterFinished, 0);
});

test('a CronJob, flat or with a jobTemplate', () => {
  const flat = parseJobSpec({
    kind: 'CronJob',
    id: 'nightly',
    schedule: '0 2 * * *',
    timeZone: 'Europe/Berlin',
    command: 'true',
  });
  assert.deepEqual(flat.schedule, {
    cron: '0 2 * * *',
    timeZone: 'Europe/Berlin',
    concurrencyPolicy: 'Allow',
    suspend: false,
    successfulJobsHistoryLimit: 3,
    failedJobsHistoryLimit: 1,
  });
  const wrapped = parseJobSpec({
    kind: 'CronJob',
    metadata: { name: 'nightly' },
    schedule: '@hourly',
    concurrencyPolicy: 'Forbid',
    startingDeadlineSeconds: 30,
    jobTemplate: { command: ['true'], completions: 2 },
  });
  assert.equal(wrapped.id, 'nightly');
  assert.equal(wrapped.completions, 2);
  assert.equal(wrapped.schedule?.concurrencyPolicy, 'Forbid');
  assert.equal(wrapped.schedule?.startingDeadlineSeconds, 30);
});

test('bad specs are one line naming the field', () => {
  const bad: Array<[unknown, RegExp]> = [
    [{ kind: 'Job', id: 'x' }, /^command: a job needs an image or a command$/],
    [{ kind: 'Job', id: 'Bad_Id', command: 'true' }, /^id: bad job id "Bad_Id"/],
    [
      { kind: 'Job', id: 'x', command: 'true', completions: 0 },
      /^completions: must be a whole number of at least 1/,
    ],
    [{ kind: 'Job', id: 'x', command: 'true', parallelism: 1.5 }, /^parallelism:/],
    [
      { kind: 'Job', id: 'x', command: 'true', restartPolicy: 'Always' },
      /^restartPolicy: must be one of Never, OnFailure/,
    ],
    [
      { kind: 'Job', id: 'x', command: 'true', restartPolicy: 'Never', backoffLimit: 3 },
      /^backoffLimit: restartPolicy Never/,
    ],
    [
      { kind: 'Job', id: 'x', command: 'true', resources: { mem: 'lots' } },
      /^resources\.mem: bad memory size "lots"/,
    ],
    [{ kind: 'Job', id: 'x', command: 'true', replicas: 3 }, /^replicas: unknown field/],
    [{ kind: 'Job', id: 'x', command: 'true', schedule: '* * * * *' }, /^schedule: unknown field/],
    [
      { kind: 'CronJob', id: 'x', command: 'true', schedule: '* * *' },
      /^schedule: bad cron expression "\* \* \*"/,
    ],
    [
      { kind: 'CronJob', id: 'x', command: 'true', schedule: '* * * * *', timeZone: 'Nowhere/City' },
      /^timeZone: unknown time zone "Nowhere\/City"/,
    ],
    [{ kind: 'CronJob', id: 'x', command: 'true' }, /^schedule: a CronJob needs a cron schedule/],
    [
      { kind: 'CronJob', id: 'x', schedule: '@daily', concurrencyPolicy: 'Sometimes', command: 'true' },
      /^concurrencyPolicy: must be one of Allow, Forbid, Replace/,
    ],
    [
      { kind: 'CronJob', id: 'x', schedule: '@daily', jobTemplate: { command: 'true', bogus: 1 } },
      /^jobTemplate\.bogus: unknown field/,
    ],
    [{ kind: 'Deployment', id: 'x' }, /^kind: must be one of Job, CronJob/],
    [{ kind: 'Job', id: 'x', command: 'true', after: ['x'] }, /^after: job "x" cannot run after itself/],
    [{ kind: 'Job', id: 'x', command: 'true', constraints: [['hostname', 'NEAR']] }, /^constraints\[0\]/],
    ['text', /must be a Job or CronJob document/],
  ];
  for (const [doc, re] of bad)
    assert.throws(
      () => parseJobSpec(doc),
      (err: Error) => re.test(err.message) && !err.message.includes('\n'),
      JSON.stringify(doc),
    );
  assert.throws(() => parseJobSpec({ id: 'a', command: 'true' }, 'b'), /differs from "b"/);
  assert.equal(parseJobSpec({ command: 'true' }, 'from-url').id, 'from-url');
});

test('job ids follow Metronome-like rules', () => {
  for (const ok of ['a', 'a-b', 'prod.etl.load', '9x']) assert.equal(checkJobId(ok), ok);
  for (const bad of ['', '-a', 'a-', 'A', 'a..b', 'a_b', 'x'.repeat(64)])
    assert.throws(() => checkJobId(bad), /^InvalidArgumentError: id:/);
});

test('a dependency cycle is rejected, naming its path; unknown dependencies are allowed', () => {
  const existing = new Map([
    ['a', []],
    ['b', ['a']],
    ['c', ['b']],
  ]);
  assert.doesNotThrow(() => checkNoCycle({ id: 'd', after: ['c', 'not-yet'] }, existing));
  assert.throws(
    () => checkNoCycle({ id: 'a', after: ['c'] }, existing),
    /^InvalidArgumentError: after: dependency cycle a → c → b → a$/,
  );
  assert.doesNotThrow(() => checkNoCycle({ id: 'b', after: ['a'] }, existing));
});

test('examples/jobs.yaml reads as valid jobs with an acyclic graph', async () => {
  const { readFileSync } = await import('node:fs');
  const { parseAllDocuments } = await import('yaml');
  const path = new URL('../../../examples/jobs.yaml', import.meta.url);
  const fallback = new URL('../../../../examples/jobs.yaml', import.meta.url); // from dist/
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    text = readFileSync(fallback, 'utf8');
  }
  const docs = parseAllDocuments(text)
    .map((d) => d.toJS() as unknown)
    .filter((d) => d !== null);
  const specs = docs.map((d) => parseJobSpec(d));
  assert.deepEqual(
    specs.map((s) => `${s.kind}:${s.id}`),
    ['Job:render', 'CronJob:heartbeat', 'Job:fetch', 'Job:clean', 'Job:stats', 'Job:report'],
  );
  const graph = new Map<string, string[]>();
  for (const s of specs) {
    checkNoCycle(s, graph);
    graph.set(s.id, s.after);
  }
  assert.equal(specs[1]?.schedule?.concurrencyPolicy, 'Forbid');
  assert.equal(specs[0]?.resources.mem, 32);
});

test("Metronome's job form is read too", () => {
  const spec = parseJobSpec({
    id: 'prod.backup',
    description: 'nightly backup',
    run: {
      cmd: 'backup.sh',
      cpus: 0.5,
      mem: 128,
      docker: { image: 'busybox' },
      artifacts: [{ uri: 'https://example.com/backup.tgz', extract: true }],
      placement: { constraints: [{ attribute: 'rack', operator: 'EQ', value: 'r1' }] },
      restart: { policy: 'ON_FAILURE' },
      env: { TARGET: 's3' },
    },
  });
  assert.equal(spec.kind, 'Job');
  assert.equal(spec.command, 'backup.sh');
  assert.equal(spec.image, 'busybox');
  assert.deepEqual(spec.resources, { cpus: 0.5, mem: 128 });
  assert.deepEqual(spec.uris, [{ value: 'https://example.com/backup.tgz', extract: true }]);
  assert.deepEqual(spec.constraints, [{ field: 'rack', operator: 'IS', value: 'r1' }]);
  assert.equal(spec.restartPolicy, 'OnFailure');
  assert.equal(parseJobSpec({ id: 'x', run: { cmd: 'true', cpus: 1, mem: 32 } }).restartPolicy, 'Never');
  assert.throws(
    () => parseJobSpec({ id: 'x', run: { cmd: 'true', cpu: 1 } }),
    /^InvalidArgumentError: run\.cpu: unknown field/,
  );
});
