/**
 * Services over several agents (a `berth master` and three `berth agent` processes on one machine, with
 * real runc): UNIQUE hostname leaves a 4th instance queued with the reason, and GROUP_BY spreads instances
 * over the racks.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { QueueEntry } from '../../src/frameworks/services/types.js';
import { createBusyboxRootfs } from '../../src/cli/busybox-rootfs.js';
import { BerthProcess, canUseRunc, eventually, getJson, reapTasks, runCli } from './harness.js';

interface Task {
  id: string;
  state: string;
  host?: string;
}

const spec = (id: string, instances: number, constraint: string): string => `kind: Service
id: ${id}
image: busybox
instances: ${instances}
command: exec httpd -f -p $PORT0 -h /tmp
resources:
  cpus: 0.1
  mem: 16
  ports: 1
constraints:
  - ${constraint}
`;

describe('services over three agents', { skip: canUseRunc() }, () => {
  const home = mkdtempSync(join(tmpdir(), 'berth-services-cluster-'));
  const env = (): NodeJS.ProcessEnv => ({ ...process.env, BERTH_HOME: home, BERTH_MASTER: master.url });
  let master: BerthProcess;
  const agents: BerthProcess[] = [];
  const tasks = (id: string): Promise<Task[]> =>
    getJson<{ tasks: Task[] }>(`${master.url}/v2/apps${id}/tasks`).then((r) => r.tasks);

  before(async () => {
    const rootfs = join(home, 'rootfs');
    createBusyboxRootfs(rootfs);
    master = await new BerthProcess(['master', '--port', '0'], { ...process.env, BERTH_HOME: home }).start();
    for (let i = 0; i < 3; i++) {
      const base = 41200 + i * 20;
      const agent = await new BerthProcess(
        [
          'agent',
          '--port',
          '0',
          '--work-dir',
          join(home, `agent-${i}`),
          '--heartbeat',
          '1',
          '--hostname',
          `h${i}`,
          '--attributes',
          `rack:r${i}`,
          '--resources',
          `cpus:1;mem:512;ports:[${base}-${base + 19}]`,
        ],
        env(),
      ).start();
      agents.push(agent);
      const imported = await runCli(['image', 'import', rootfs, 'busybox', '--master', agent.url], env());
      assert.equal(imported.code, 0, imported.stderr);
    }
  });

  after(async () => {
    for (const a of agents) await a.stop('SIGKILL');
    await master?.stop('SIGKILL');
    reapTasks(home);
    rmSync(home, { recursive: true, force: true });
  });

  test('UNIQUE hostname: 3 instances on 3 agents, the 4th queued with the reason', async () => {
    const file = join(home, 'unique.yaml');
    writeFileSync(file, spec('/uniq', 4, '[hostname, UNIQUE]'));
    const r = await runCli(['apply', '-f', file], env());
    assert.equal(r.code, 0, r.stderr);
    const running = await eventually(
      async () => {
        const all = (await tasks('/uniq')).filter((t) => t.state === 'TASK_RUNNING');
        return all.length === 3 ? all : undefined;
      },
      60_000,
      '3 running instances',
    );
    assert.deepEqual(running.map((t) => t.host).sort(), ['h0', 'h1', 'h2']);
    const queued = await eventually(
      async () => {
        const { queue } = await getJson<{ queue: QueueEntry[] }>(`${master.url}/v2/queue`);
        return queue.find((q) => q.serviceId === '/uniq' && q.waiting === 1);
      },
      20_000,
      'the 4th instance in the queue',
    );
    assert.match(queued.reason, /UNIQUE/);
    const list = await runCli(['services'], env());
    assert.match(list.stdout, /\/uniq: 1 waiting: .*UNIQUE/);
  });

  test('GROUP_BY rack spreads the instances over the racks', async () => {
    const file = join(home, 'group.yaml');
    writeFileSync(file, spec('/spread', 3, '[rack, GROUP_BY, "3"]'));
    const r = await runCli(['apply', '-f', file, '--wait', '--timeout', '60'], env());
    assert.equal(r.code, 0, r.stderr);
    const all = (await tasks('/spread')).filter((t) => t.state === 'TASK_RUNNING');
    assert.equal(all.length, 3);
    assert.deepEqual(all.map((t) => t.host).sort(), ['h0', 'h1', 'h2']);
  });
});
