/**
 * A master and several agents as separate processes on one machine, with real runc: tasks spread over
 * agents; kill -9 of an agent, of the master; an agent frozen with SIGSTOP. Nothing is lost, nothing runs
 * twice, and exit codes survive.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import type { TaskView } from '../../src/api/operator.js';
import type { AgentView } from '../../src/api/operator.js';
import { createBusyboxRootfs } from '../../src/cli/busybox-rootfs.js';
import { BerthProcess, canUseRunc, eventually, getJson, reapTasks, runCli } from './harness.js';

class TestCluster {
  readonly home = mkdtempSync(join(tmpdir(), 'berth-chaos-'));
  readonly rootfs = join(this.home, 'busybox-rootfs');
  master!: BerthProcess;
  readonly agents: BerthProcess[] = [];

  get env(): NodeJS.ProcessEnv {
    return { ...process.env, BERTH_HOME: this.home, BERTH_MASTER: this.master.url };
  }

  async start(agentCount: number, resources: string): Promise<void> {
    createBusyboxRootfs(this.rootfs);
    this.master = await new BerthProcess(['master', '--port', '0', '--agent-timeout', '2'], {
      ...process.env,
      BERTH_HOME: this.home,
    }).start();
    for (let i = 0; i < agentCount; i++) await this.addAgent(resources, `rack:r${i}`);
  }

  async addAgent(resources: string, attributes: string): Promise<BerthProcess> {
    const i = this.agents.length;
    const agent = await new BerthProcess(
      [
        'agent',
        '--port',
        '0',
        '--work-dir',
        join(this.home, `agent-${i}`),
        '--heartbeat',
        '0.5',
        '--resources',
        resources,
        '--attributes',
        attributes,
      ],
      this.env,
    ).start();
    this.agents.push(agent);
    const imported = await runCli(
      ['image', 'import', this.rootfs, 'busybox', '--master', agent.url],
      this.env,
    );
    assert.equal(imported.code, 0, imported.stderr);
    return agent;
  }

  /** The same agent (same work dir, so the same id and tasks) started again. */
  async restartAgent(i: number): Promise<void> {
    const old = this.agents[i]!;
    const port = new URL(old.url).port;
    const args = old.args.map((a, k) => (old.args[k - 1] === '--port' ? port : a));
    this.agents[i] = await new BerthProcess(args, this.env).start();
  }

  cli(args: string[]) {
    return runCli(args, this.env);
  }

  tasks(): Promise<TaskView[]> {
    return getJson<{ tasks: TaskView[] }>(`${this.master.url}/api/v1/tasks?all=true`).then((r) => r.tasks);
  }

  agentsView(): Promise<AgentView[]> {
    return getJson<{ agents: AgentView[] }>(`${this.master.url}/api/v1/agents`).then((r) => r.agents);
  }

  async destroy(): Promise<void> {
    for (const a of this.agents) await a.stop('SIGKILL');
    await this.master?.stop('SIGKILL');
    reapTasks(this.home);
    rmSync(this.home, { recursive: true, force: true });
  }
}

describe('a cluster of separate processes', { skip: canUseRunc() }, () => {
  const cluster = new TestCluster();
  before(() => cluster.start(3, 'cpus:1;mem:1024'));
  after(() => cluster.destroy());

  test('three agents register, and tasks spread over them when one agent is full', async () => {
    const agents = await cluster.agentsView();
    assert.equal(agents.length, 3);
    assert.ok(agents.every((a) => a.state === 'ACTIVE' && a.address?.startsWith('http://127.0.0.1:')));
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await cluster.cli(['run', '-d', '--cpus', '1', '--mem', '32M', 'busybox', 'sleep', '3']);
      assert.equal(r.code, 0, r.stderr);
      ids.push(r.stdout.trim());
    }
    const placed = await eventually(
      async () => {
        const tasks = (await cluster.tasks()).filter((t) => ids.includes(t.id));
        return tasks.length === 3 && tasks.every((t) => t.state === 'TASK_RUNNING') ? tasks : undefined;
      },
      15_000,
      'three running tasks',
    );
    assert.equal(new Set(placed.map((t) => t.agent_id)).size, 3, 'one task per agent: each has 1 cpu');
    const out = await cluster.cli(['run', '--rm', 'busybox', 'sh', '-c', 'echo through the agent API']);
    assert.equal(out.stdout, 'through the agent API\n', out.stderr);
  });

  test('kill -9 of an agent running 20 tasks: all recovered, exit codes of those that ended meanwhile', async () => {
    const agent = cluster.agents[0]!;
    const agentId = (await getJson<{ agent_id: string }>(`${agent.url}/api/v1/health`)).agent_id;
    await eventually(
      async () =>
        (await cluster.tasks()).some((t) => t.agent_id === agentId && t.state === 'TASK_RUNNING')
          ? undefined
          : true,
      10_000,
      'agent 0 idle',
    );
    const want = new Map<string, number>();
    for (let i = 0; i < 20; i++) {
      // Half end while the agent is down (with exit code i), half run on past its restart (exit 0).
      const script = i % 2 === 0 ? `sleep 1; exit ${i}` : 'sleep 6';
      const res = await request(`${cluster.master.url}/v1/run`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ image: 'busybox', command: ['sh', '-c', script], cpus: 0.01, mem: 8 }),
      });
      const { id } = (await res.body.json()) as { id: string };
      want.set(id, i % 2 === 0 ? i : 0);
    }
    await eventually(
      async () => {
        const tasks = (await cluster.tasks()).filter((t) => want.has(t.id));
        return tasks.length === 20 && tasks.every((t) => t.state === 'TASK_RUNNING') ? true : undefined;
      },
      20_000,
      '20 running tasks',
    );
    const onAgent0 = (await cluster.tasks())
      .filter((t) => want.has(t.id) && t.agent_id === agentId)
      .map((t) => t.id);
    assert.ok(onAgent0.length > 0);
    await agent.stop('SIGKILL');
    await new Promise((r) => setTimeout(r, 2500));
    await cluster.restartAgent(0);
    const done = await eventually(
      async () => {
        const tasks = (await cluster.tasks()).filter((t) => want.has(t.id));
        return tasks.every((t) => t.state === 'TASK_FINISHED' || t.state === 'TASK_FAILED')
          ? tasks
          : undefined;
      },
      30_000,
      'all 20 tasks to end',
    );
    for (const t of done)
      assert.equal(t.exit_code, want.get(t.id), `exit code of ${t.id} (${t.command.join(' ')})`);
    const restartedId = (await getJson<{ agent_id: string }>(`${cluster.agents[0]!.url}/api/v1/health`))
      .agent_id;
    assert.equal(restartedId, agentId, 'the agent re-registered with the same id');
  });

  test('SIGSTOP makes an agent UNREACHABLE, SIGCONT brings it and its tasks back', async () => {
    const r = await cluster.cli([
      'run',
      '-d',
      '--name',
      'frozen',
      '--mem',
      '16M',
      'busybox',
      'sh',
      '-c',
      'sleep 5; exit 9',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const id = r.stdout.trim();
    const task = await eventually(
      async () => (await cluster.tasks()).find((t) => t.id === id && t.state === 'TASK_RUNNING'),
      10_000,
      'frozen running',
    );
    const agent = cluster.agents.find((a) => a.url && task.agent_id) ?? cluster.agents[0]!;
    const which = await Promise.all(
      cluster.agents.map(
        async (a) => (await getJson<{ agent_id: string }>(`${a.url}/api/v1/health`)).agent_id,
      ),
    );
    const target = cluster.agents[which.indexOf(task.agent_id)] ?? agent;
    target.signal('SIGSTOP');
    try {
      await eventually(
        async () =>
          (await cluster.tasks()).find((t) => t.id === id)?.state === 'TASK_UNREACHABLE' ? true : undefined,
        10_000,
        'UNREACHABLE',
      );
      const view = (await cluster.agentsView()).find((a) => a.id === task.agent_id);
      assert.equal(view?.state, 'UNREACHABLE');
    } finally {
      target.signal('SIGCONT');
    }
    const ended = await eventually(
      async () => (await cluster.tasks()).find((t) => t.id === id && t.state === 'TASK_FAILED'),
      20_000,
      'the task to end after SIGCONT',
    );
    assert.equal(ended.exit_code, 9);
    assert.equal((await cluster.agentsView()).find((a) => a.id === task.agent_id)?.state, 'ACTIVE');
  });

  test('kill -9 of the master: tasks run on, and after the restart the state is complete', async () => {
    const r = await cluster.cli([
      'run',
      '-d',
      '--name',
      'outlives-master',
      '--mem',
      '16M',
      'busybox',
      'sh',
      '-c',
      'sleep 3; exit 4',
    ]);
    const id = r.stdout.trim();
    await eventually(
      async () => (await cluster.tasks()).find((t) => t.id === id && t.state === 'TASK_RUNNING'),
      10_000,
      'running',
    );
    const before = (await cluster.tasks()).length;
    const port = new URL(cluster.master.url).port;
    await cluster.master.stop('SIGKILL');
    await new Promise((r) => setTimeout(r, 4000)); // the task ends while there is no master
    cluster.master = await new BerthProcess(['master', '--port', port, '--agent-timeout', '2'], {
      ...process.env,
      BERTH_HOME: cluster.home,
    }).start();
    const ended = await eventually(
      async () => (await cluster.tasks()).find((t) => t.id === id && t.state === 'TASK_FAILED'),
      20_000,
      'the update sent after the master came back',
    );
    assert.equal(ended.exit_code, 4);
    assert.equal((await cluster.tasks()).length, before, 'no task lost or added');
    await eventually(
      async () =>
        (await cluster.agentsView()).filter((a) => a.state === 'ACTIVE').length === 3 ? true : undefined,
      15_000,
      'all agents back',
    );
    const again = await cluster.cli(['run', '--rm', 'busybox', 'echo', 'still works']);
    assert.equal(again.stdout, 'still works\n', again.stderr);
  });
});
