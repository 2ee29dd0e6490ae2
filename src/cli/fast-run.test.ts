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

test('every option of the full `run` command is parsed the same by the fast path', async () => {
  const { Command } = await import('commander');
  const { registerRun } = await import('./commands/run.js');
  const program = new Command().exitOverride().enablePositionalOptions();
  registerRun(program);
  const run = program.commands.find((c) => c.name() === 'run')!;
  let seen: { image: string; command: string[]; opts: Record<string, unknown> } | undefined;
  run.action((image: string, command: string[], opts: Record<string, unknown>) => {
    seen = { image, command, opts };
  });
  for (const option of run.options)
    for (const flag of [option.short, option.long].filter((f): f is string => f !== undefined)) {
      const args = option.required ? [flag, 'A=1', 'busybox', 'true'] : [flag, 'busybox', 'true'];
      seen = undefined;
      await program.parseAsync(['run', ...args], { from: 'user' });
      const fast = parseRunArgs(args);
      assert.ok(fast, `the fast path does not know ${flag}: add it to fast-run.ts`);
      assert.deepEqual({ ...fast.opts }, { ...seen!.opts }, flag);
      assert.deepEqual([fast.image, fast.command], [seen!.image, seen!.command], flag);
    }
});
