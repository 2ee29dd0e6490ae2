import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  allocateTo,
  createVolume,
  equalResources,
  parseResources,
  reserve,
  scalar,
  type Resource,
} from '../../core/resources.js';
import { applyOperation, applyOperations, type OperationResult } from './operations.js';

const total = parseResources('cpus:8;mem:4096;disk:1000;ports:[31000-32000]');
const reserved = (text: string, role = 'db'): Resource[] =>
  reserve(parseResources(text), { type: 'DYNAMIC', role, principal: 'ops' });

function ok(result: OperationResult): Resource[] {
  assert.ok(result.ok, result.ok ? '' : result.reason);
  return result.resources;
}

function reason(result: OperationResult): string {
  assert.ok(!result.ok, 'expected the operation to fail');
  return result.reason;
}

test('RESERVE moves unreserved resources into a dynamic reservation; UNRESERVE moves them back', () => {
  const after = ok(
    applyOperation(total, { type: 'RESERVE', reserve: { resources: reserved('cpus:2;disk:100') } }),
  );
  assert.ok(
    equalResources(after, [
      ...parseResources('cpus:6;mem:4096;disk:900;ports:[31000-32000]'),
      ...reserved('cpus:2;disk:100'),
    ]),
    'equalResources(after, [...parseResources("cpus:6;mem:4096;disk:900;...',
  );
  const back = ok(
    applyOperation(after, { type: 'UNRESERVE', unreserve: { resources: reserved('cpus:2;disk:100') } }),
  );
  assert.ok(equalResources(back, total), 'equalResources(back, total)');
});

test('RESERVE is checked: enough resources, a dynamic role, refinement, principal, framework roles', () => {
  const op = (resources: Resource[]) => ({ type: 'RESERVE', reserve: { resources } });
  assert.match(reason(applyOperation(total, op(reserved('cpus:9')))), /do not hold cpus:9/);
  assert.match(reason(applyOperation(total, op(parseResources('cpus:1')))), /must be DYNAMIC/);
  assert.match(reason(applyOperation(total, op(parseResources('cpus(db):1')))), /must be DYNAMIC/);
  assert.match(
    reason(applyOperation(total, op(reserved('cpus:1')), { principal: 'me' })),
    /principal must be "me"/,
  );
  assert.match(
    reason(applyOperation(total, op(reserved('cpus:1')), { roles: ['web'] })),
    /not subscribed to role "db"/,
  );
  // Refinement: db → db/hot is fine, db → web is not.
  const refined = reserve(reserved('cpus:1'), { type: 'DYNAMIC', role: 'db/hot' });
  const sideways = reserve(reserved('cpus:1'), { type: 'DYNAMIC', role: 'web' });
  const base = ok(applyOperation(total, op(reserved('cpus:2'))));
  assert.ok(
    ok(applyOperation(base, op(refined))).some((r) => r.role === 'db/hot'),
    'ok(applyOperation(base, op(refined))).some((r) => r.role === "db/hot")',
  );
  assert.match(reason(applyOperation(base, op(sideways))), /does not refine/);
});

test('UNRESERVE refuses static reservations and persistent volumes', () => {
  const withStatic = parseResources('cpus(db):2');
  assert.match(
    reason(applyOperation(withStatic, { type: 'UNRESERVE', unreserve: { resources: withStatic } })),
    /static reservation/,
  );
  const volume = createVolume(reserved('disk:10')[0]!, { id: 'v1', containerPath: 'data', principal: 'ops' });
  assert.match(
    reason(applyOperation([volume], { type: 'UNRESERVE', unreserve: { resources: [volume] } })),
    /DESTROY it first/,
  );
});

test('CREATE turns reserved disk into a volume; DESTROY gives the disk back, still reserved', () => {
  const start = ok(applyOperation(total, { type: 'RESERVE', reserve: { resources: reserved('disk:100') } }));
  const volume = createVolume(reserved('disk:64')[0]!, { id: 'pg', containerPath: 'data', principal: 'ops' });
  const created = ok(applyOperation(start, { type: 'CREATE', create: { volumes: [volume] } }));
  assert.equal(created.filter((r) => r.disk?.persistence?.id === 'pg').length, 1);
  assert.ok(
    equalResources(created, [
      ...total.filter((r) => r.name !== 'disk'),
      scalar('disk', 900),
      ...reserved('disk:36'),
      volume,
    ]),
    'equalResources(created, [...total.filter((r) => r.name !== "disk"),...',
  );
  const destroyed = ok(applyOperation(created, { type: 'DESTROY', destroy: { volumes: [volume] } }));
  assert.ok(equalResources(destroyed, start), 'equalResources(destroyed, start)');
});

test('CREATE is checked: reserved disk, unique id, relative path, mode, principal', () => {
  const start = ok(applyOperation(total, { type: 'RESERVE', reserve: { resources: reserved('disk:100') } }));
  const create = (v: Resource) => applyOperation(start, { type: 'CREATE', create: { volumes: [v] } });
  const disk = reserved('disk:10')[0]!;
  assert.match(
    reason(create(createVolume(scalar('disk', 10), { id: 'a', containerPath: 'd' }))),
    /need reserved disk/,
  );
  assert.match(reason(create(createVolume(disk, { id: 'a', containerPath: '/abs' }))), /relative path/);
  assert.match(
    reason(create(createVolume(disk, { id: 'a', containerPath: 'x/../../etc' }))),
    /relative path/,
  );
  assert.match(
    reason(create(createVolume(reserved('disk:500')[0]!, { id: 'a', containerPath: 'd' }))),
    /do not hold/,
  );
  const v = createVolume(disk, { id: 'a', containerPath: 'd', principal: 'ops' });
  const once = ok(create(v));
  assert.match(reason(applyOperation(once, { type: 'CREATE', create: { volumes: [v] } })), /already in use/);
  assert.match(
    reason(applyOperation(start, { type: 'CREATE', create: { volumes: [v] } }, { principal: 'x' })),
    /principal must be "x"/,
  );
  assert.match(reason(applyOperation(start, { type: 'DESTROY', destroy: { volumes: [v] } })), /do not hold/);
});

test('operations on an offer keep its allocation role; operations apply in order', () => {
  const offer = allocateTo(total, 'db');
  const volume = createVolume(reserved('disk:10')[0]!, { id: 'v', containerPath: 'd', principal: 'ops' });
  const out = ok(
    applyOperations(offer, [
      { type: 'RESERVE', reserve: { resources: reserved('disk:10') } },
      { type: 'LAUNCH' },
      { type: 'CREATE', create: { volumes: [volume] } },
    ]),
  );
  assert.ok(
    out.every((r) => r.allocation_info?.role === 'db'),
    'out.every((r) => r.allocation_info?.role === "db")',
  );
  assert.ok(
    out.some((r) => r.disk?.persistence?.id === 'v'),
    'out.some((r) => r.disk?.persistence?.id === "v")',
  );
  const mixed = [...allocateTo(parseResources('cpus:1'), 'a'), ...allocateTo(parseResources('mem:1'), 'b')];
  assert.match(
    reason(applyOperation(mixed, { type: 'RESERVE', reserve: { resources: reserved('cpus:1') } })),
    /one role/,
  );
});

test('CREATE refuses an id that is not one safe path segment; DESTROY of a volume in use is refused', () => {
  const start = ok(applyOperation(total, { type: 'RESERVE', reserve: { resources: reserved('disk:100') } }));
  const bad = createVolume(reserved('disk:10')[0]!, { id: '../etc', containerPath: 'd' });
  assert.match(
    reason(applyOperation(start, { type: 'CREATE', create: { volumes: [bad] } })),
    /disk\.persistence\.id "\.\.\/etc"/,
  );
  const v = createVolume(reserved('disk:10')[0]!, { id: 'pg', containerPath: 'data' });
  const withVolume = ok(applyOperation(start, { type: 'CREATE', create: { volumes: [v] } }));
  const tasks = [{ id: 'task-1', resources: [v] }];
  const destroy = { type: 'DESTROY', destroy: { volumes: [v] } };
  assert.match(reason(applyOperation(withVolume, destroy, { tasks })), /in use by task task-1/);
  const after = ok(applyOperation(withVolume, destroy, { tasks: [] }));
  assert.ok(equalResources(after, start), 'DESTROY of an unused volume gives the reserved disk back');
});
