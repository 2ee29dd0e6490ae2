import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createVolume, parseResources, reserve, type Resource } from '../core/resources.js';
import { containerPathProblem, segmentProblem, validateVolume, volumeInUse } from '../core/volumes.js';
import {
  createVolumeDirs,
  destroyVolumeDirs,
  linkVolumesIntoSandbox,
  runcVolumeMounts,
  volumeDir,
  volumeMounts,
} from './volumes.js';

const disk = (role = 'db'): Resource =>
  reserve(parseResources('disk:100'), { type: 'DYNAMIC', role, principal: 'ops' })[0]!;
const volume = (id: string, path = 'data', mode: 'RW' | 'RO' = 'RW', role = 'db'): Resource =>
  createVolume(disk(role), { id, containerPath: path, mode });

test('a volume lives under <work>/volumes/roles/<role>/<id>; nested roles nest', () => {
  assert.equal(volumeDir('/w', volume('pg')), '/w/volumes/roles/db/pg');
  assert.equal(volumeDir('/w', volume('pg', 'data', 'RW', 'eng/db')), '/w/volumes/roles/eng/db/pg');
});

test('unsafe persistence ids and container paths are refused with the field named', () => {
  for (const id of ['..', '.', 'a/b', '', 'x'.repeat(129), 'a b'])
    assert.throws(() => validateVolume(volume(id)), /disk\.persistence\.id/, id);
  for (const path of ['/abs', '../up', 'a/../b', 'a//b', ''])
    assert.throws(() => validateVolume(volume('ok', path)), /container_path/, path);
  assert.equal(segmentProblem('pg-1.data_x'), undefined);
  assert.equal(containerPathProblem('var/lib/data'), undefined);
  assert.doesNotThrow(() => validateVolume(volume('pg', 'var/lib/pg')));
});

test('volumeMounts picks the volumes of a task; runc mounts are absolute and honour RO', () => {
  const resources = [...parseResources('cpus:1;mem:64'), volume('a', 'data'), volume('b', 'etc/conf', 'RO')];
  const mounts = volumeMounts('/w', resources);
  assert.deepEqual(mounts, [
    { source: '/w/volumes/roles/db/a', containerPath: 'data', readonly: false },
    { source: '/w/volumes/roles/db/b', containerPath: 'etc/conf', readonly: true },
  ]);
  assert.deepEqual(runcVolumeMounts(mounts), [
    { source: '/w/volumes/roles/db/a', destination: '/data' },
    { source: '/w/volumes/roles/db/b', destination: '/etc/conf', readonly: true },
  ]);
});

test('volumeInUse names the task using a volume; other roles and ids do not count', () => {
  const tasks = [{ id: 't1', resources: [volume('a')] }];
  assert.match(volumeInUse([volume('a')], tasks) ?? '', /volume "a" of role "db" is in use by task t1/);
  assert.equal(volumeInUse([volume('b')], tasks), undefined);
  assert.equal(volumeInUse([volume('a', 'data', 'RW', 'web')], tasks), undefined);
});

test('create, link into a sandbox, data survives re-creation, destroy removes it', async () => {
  const work = await mkdtemp(join(tmpdir(), 'berth-vol-'));
  try {
    const v = volume('pg', 'var/data');
    await createVolumeDirs(work, [v]);
    const dir = volumeDir(work, v);
    assert.ok((await stat(dir)).isDirectory());
    const sandbox = join(work, 'sb1');
    await linkVolumesIntoSandbox(sandbox, volumeMounts(work, [v]));
    await writeFile(join(sandbox, 'var/data/f'), 'hello');
    await createVolumeDirs(work, [v]); // idempotent, keeps data
    const sandbox2 = join(work, 'sb2');
    await linkVolumesIntoSandbox(sandbox2, volumeMounts(work, [v]));
    assert.equal(await readFile(join(sandbox2, 'var/data/f'), 'utf8'), 'hello');
    await destroyVolumeDirs(work, [v]);
    await assert.rejects(stat(dir), /ENOENT/);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
});

test('checkpointed resources: what operations made, replayed onto the detected resources', async () => {
  const { checkpointedOf, totalWithCheckpointed } = await import('../core/resources.js');
  const { addResources, equalResources, subtractResources } = await import('../core/resources.js');
  const base = parseResources('cpus:4;mem:1024;disk:1000');
  const cpus = reserve(parseResources('cpus:2'), { type: 'DYNAMIC', role: 'db', principal: 'ops' });
  const v = volume('pg');
  const total = addResources(subtractResources(base, parseResources('cpus:2;disk:100')), [...cpus, v]);
  const checkpointed = checkpointedOf(total);
  assert.equal(checkpointed.length, 2);
  assert.ok(equalResources(totalWithCheckpointed(base, checkpointed), total));
  // An agent that shrank keeps what still fits and drops the rest.
  const small = parseResources('cpus:1;mem:1024;disk:1000');
  const shrunk = totalWithCheckpointed(small, checkpointed);
  assert.ok(shrunk.some((r) => r.disk?.persistence?.id === 'pg'));
  assert.ok(!shrunk.some((r) => r.name === 'cpus' && r.role === 'db'));
});

test('ResourceSchema takes reservations, disk and allocation_info; bad shapes are named', async () => {
  const { TypeCompiler } = await import('@sinclair/typebox/compiler');
  const { ResourceSchema } = await import('../api/mesos.js');
  const check = TypeCompiler.Compile(ResourceSchema);
  assert.ok(check.Check({ ...volume('pg'), allocation_info: { role: 'db' } }));
  const bad = { ...volume('pg'), disk: { volume: { container_path: 'd', mode: 'RX' } } };
  assert.equal(check.Check(bad), false);
  assert.match(check.Errors(bad).First()?.path ?? '', /disk\/volume\/mode/);
  assert.equal(check.Check({ ...volume('pg'), reservations: [{ type: 'SOMETIMES', role: 'db' }] }), false);
});

test('operator calls map to offer operations; bad calls are one clear line', async () => {
  const { parseOperatorCall } = await import('../api/operator-calls.js');
  const v = volume('pg');
  const parsed = parseOperatorCall({
    type: 'CREATE_VOLUMES',
    create_volumes: { agent_id: { value: 'a1' }, volumes: [v] },
  });
  assert.deepEqual(parsed, { agentId: 'a1', op: { type: 'CREATE', create: { volumes: [v] } } });
  assert.throws(() => parseOperatorCall({ type: 'RESERVE_RESOURCES' }), /needs the field reserve_resources/);
  assert.throws(() => parseOperatorCall({ type: 'NOPE' }), /\/type/);
  const { dynamicReservations } = await import('../cli/commands/reservations.js');
  const list = dynamicReservations('cpus(db):2;mem(db):512', 'ops');
  assert.deepEqual(
    list.map((r) => r.reservations),
    [
      [{ type: 'DYNAMIC', role: 'db', principal: 'ops' }],
      [{ type: 'DYNAMIC', role: 'db', principal: 'ops' }],
    ],
  );
  assert.throws(() => dynamicReservations('cpus:2', 'ops'), /name a role for cpus/);
});
