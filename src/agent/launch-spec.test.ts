import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TaskInfo } from '../api/mesos.js';
import { scalar } from '../core/resources.js';
import { computeLaunchSpec } from './launch-spec.js';

const task = (command?: TaskInfo['command']): TaskInfo => ({
  name: 'n',
  task_id: { value: 't1' },
  agent_id: { value: 'a1' },
  resources: [scalar('cpus', 0.5), scalar('mem', 64)],
  ...(command ? { command } : {}),
});
const image = { Env: ['PATH=/bin', 'A=1'], Entrypoint: ['/entry'], Cmd: ['default'], WorkingDir: '/app' };

test('arguments replace Cmd and keep Entrypoint; no command runs Entrypoint + Cmd', () => {
  assert.deepEqual(
    computeLaunchSpec(task({ shell: false, value: 'echo', arguments: ['echo', 'hi'] }), image, '/s').args,
    ['/entry', 'echo', 'hi'],
  );
  assert.deepEqual(computeLaunchSpec(task(), image, '/s').args, ['/entry', 'default']);
  assert.deepEqual(computeLaunchSpec(task({ value: 'exit 3' }), image, '/s').args, [
    '/bin/sh',
    '-c',
    'exit 3',
  ]);
});

test('task env overrides image env; resources and working dir carry through', () => {
  const spec = computeLaunchSpec(
    task({
      shell: false,
      arguments: ['x'],
      environment: { variables: [{ name: 'A', value: '2' }] },
      working_dir: '/w',
    }),
    image,
    '/s',
    '/s/rootfs',
  );
  assert.equal(spec.env.A, '2');
  assert.equal(spec.env.PATH, '/bin');
  assert.equal(spec.env.BERTH_TASK_ID, 't1');
  assert.equal(spec.cwd, '/w');
  assert.equal(spec.rootfs, '/s/rootfs');
  assert.deepEqual(spec.resources, { cpus: 0.5, memMiB: 64 });
  assert.equal(computeLaunchSpec(task(), image, '/s').cwd, '/app');
});
