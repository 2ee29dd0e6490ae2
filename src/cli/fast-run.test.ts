import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRunArgs } from './fast-run.js';

test('the fast path parses run options as commander does, up to the image', () => {
  assert.deepEqual(
    parseRunArgs([
      '--rm',
      '-d',
      '--name',
      'web',
      '--cpus=0.5',
      '--mem',
      '64M',
      '-e',
      'A=1',
      '--env=B=2',
      '-w',
      '/tmp',
      '--master',
      'http://m:7070',
      'busybox',
      'sh',
      '-c',
      'echo --rm',
    ]),
    {
      image: 'busybox',
      command: ['sh', '-c', 'echo --rm'],
      opts: {
        rm: true,
        detach: true,
        name: 'web',
        cpus: '0.5',
        mem: '64M',
        env: ['A=1', 'B=2'],
        workdir: '/tmp',
        master: 'http://m:7070',
      },
    },
  );
  assert.deepEqual(parseRunArgs(['busybox']), { image: 'busybox', command: [], opts: { env: [] } });
  // Options after the image belong to the container's command; `--` ends the options.
  assert.deepEqual(parseRunArgs(['--', '-img', '--rm']), {
    image: '-img',
    command: ['--rm'],
    opts: { env: [] },
  });
  // A value may start with a dash, as commander takes the next word for a required value.
  assert.equal(parseRunArgs(['--name', '-x', 'busybox'])?.opts.name, '-x');
});

test('the fast path hands back what only the full CLI handles', () => {
  for (const args of [
    [],
    ['--rm'],
    ['--help', 'busybox'],
    ['-h'],
    ['--unknown', 'busybox'],
    ['-dw', '/x', 'busybox'],
    ['--rm=yes', 'busybox'],
    ['--name'],
    ['--master', 'http://a:1,http://b:2', 'busybox'],
  ])
    assert.equal(parseRunArgs(args), undefined, args.join(' '));
});

test('several masters in BERTH_MASTER go to the full CLI, which asks them who leads', (t) => {
  const saved = process.env.BERTH_MASTER;
  t.after(() => {
    if (saved === undefined) delete process.env.BERTH_MASTER;
    else process.env.BERTH_MASTER = saved;
  });
  process.env.BERTH_MASTER = 'http://a:1,http://b:2';
  assert.equal(parseRunArgs(['busybox']), undefined);
  assert.equal(parseRunArgs(['--master', 'http://a:1', 'busybox'])?.opts.master, 'http://a:1');
});
