import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TaskInfo } from '../api/mesos.js';
import { parseResources } from '../core/resources.js';
import { validateLaunch } from './validate-launch.js';

const offered = parseResources('cpus:2;mem:1024');
const task = (extra: Partial<TaskInfo> = {}): TaskInfo =>
  ({
    name: 't',
    task_id: { value: 't1' },
    agent_id: { value: 'a1' },
    resources: parseResources('cpus:1;mem:128'),
    command: { value: 'true' },
    ...extra,
  }) as TaskInfo;
const validate = (t: TaskInfo): string | undefined => validateLaunch([t], offered, 'a1', () => false);

test('a task that fits its offer launches', () => {
  assert.equal(validate(task()), undefined);
  assert.equal(validate(task({ health_check: { type: 'TCP', tcp: { port: 31000 } } })), undefined);
  assert.equal(
    validate(task({ check: { type: 'COMMAND', command: { command: { value: 'true' } } } })),
    undefined,
  );
});

test('too much, a foreign agent, a taken id', () => {
  assert.match(validate(task({ resources: parseResources('cpus:3') })) ?? '', /need more resources/);
  assert.match(
    validate(task({ agent_id: { value: 'a2' } })) ?? '',
    /names agent "a2", but the offer is for "a1"/,
  );
  assert.match(validateLaunch([task()], offered, 'a1', () => true) ?? '', /already in use/);
});

test('a check must carry the settings of its type, and only those', () => {
  assert.equal(
    validate(task({ health_check: { type: 'HTTP', tcp: { port: 31000 } } })),
    'task "t1": health_check.http is needed for a HTTP check',
  );
  assert.equal(
    validate(task({ health_check: { type: 'TCP', tcp: { port: 1 }, http: { port: 1 } } })),
    'task "t1": health_check.http does not belong in a TCP check (it takes health_check.tcp)',
  );
  assert.equal(
    validate(task({ check: { type: 'COMMAND' } })),
    'task "t1": check.command is needed for a COMMAND check',
  );
});
