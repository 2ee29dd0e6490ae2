/**
 * Highly available masters: a 3-member etcd cluster, 3 `berth master --store etcd://…` processes, 2
 * agents and a service of the services framework with 6 instances. kill -9 of the leader, SIGSTOP of the
 * leader, and a restart of etcd: each time a leader serves again, the agents and the frameworks come
 * back, the same instances run on with the same PIDs (each appended its task id and PID to a file at its
 * only start), and a scale-up launches one more.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { after, before, describe, test } from 'node:test';
import type { AgentView, FrameworkView, TaskView } from '../../src/api/operator.js';
import type { ServiceView } from '../../src/frameworks/services/types.js';
import { EtcdStore } from '../../src/store/etcd/etcd-store.js';
import { ETCD_BINARY, EtcdTestCluster } from '../../src/store/etcd/etcd-test-server.js';
import { StoreConflictError } from '../../src/store/index.js';
import { BerthProcess, eventually, runCli } from './harness.js';

const skip = EtcdTestCluster.available()
  ? undefined
  : `${ETCD_BINARY} is missing (apt-get install -y etcd-server): HA failover is not tested`;
if (skip) console.log(`# SKIP ha-failover: ${skip}`);

interface LeaderView {
  leader: { id: string; url: string } | null;
  self: { id: string; url: string };
  is_leader: boolean;
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
  if (!res.ok) throw new Error(`${url}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

class HaCluster {
  readonly home = mkdtempSync(join(tmpdir(), 'berth-ha-'));
  readonly namespace = `/berth-ha-${process.pid}/`;
  etcd!: EtcdTestCluster;
  readonly masters: BerthProcess[] = [];
  readonly agents: BerthProcess[] = [];
  /** Instance (task) id → the PID it wrote at its start. */
  readonly pids = new Map<string, number>();
  /** Every instance appends "<task id> <pid>" here when it starts. */
  readonly startsFile = join(this.home, 'web-starts');

  get storeUrl(): string {
    return this.etcd.storeUrl(this.namespace);
  }

  get masterList(): string {
    return this.masters.map((m) => m.url).join(',');
  }

  async start(): Promise<void> {
    this.etcd = await EtcdTestCluster.start(3);
    for (let i = 0; i < 3; i++) this.masters.push(await this.master(i, '0').start());
    for (let i = 0; i < 2; i++) {
      const agent = new BerthProcess(
        // prettier-ignore
        [
          'agent', '--port', '0', '--work-dir', join(this.home, `agent-${i}`), '--runtime', 'process',
          '--heartbeat', '1', '--resources', 'cpus:0.5;mem:1024', '--master', this.masterList,
        ],
        { ...process.env, BERTH_HOME: this.home },
      );
      this.agents.push(await agent.start());
    }
  }

  master(i: number, port: string): BerthProcess {
    // prettier-ignore
    return new BerthProcess(
      ['master', '--port', port, '--store', this.storeUrl, '--data-dir', join(this.home, `master-${i}`)],
      { ...process.env, BERTH_HOME: this.home },
    );
  }

  /** Starts master `i` again on its port, as a supervisor would. */
  async restartMaster(i: number): Promise<void> {
    const port = new URL(this.masters[i]!.url).port;
    this.masters[i] = await this.master(i, port).start();
  }

  async leader(among = this.masters): Promise<BerthProcess | undefined> {
    for (const m of among) {
      const view = await getJson<LeaderView>(`${m.url}/api/v1/leader`).catch(() => undefined);
      if (view?.is_leader) return m;
    }
    return undefined;
  }

  /** Creates the service `/web` through any master (a standby redirects to the leader). */
  async createService(through: BerthProcess, instances: number): Promise<void> {
    const res = await fetch(`${through.url}/v2/apps`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        id: '/web',
        command: `echo "$BERTH_TASK_ID $$" >> ${this.startsFile}; exec sleep 600`,
        instances,
        resources: { cpus: 0.1, mem: 16 },
      }),
    });
    assert.equal(res.status, 201, await res.text());
  }

  /** Scales `/web` through any master. */
  async scale(through: BerthProcess, instances: number): Promise<void> {
    const res = await fetch(`${through.url}/v2/apps/web`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ instances }),
    });
    assert.equal(res.status, 200, await res.text());
  }

  /** Every start of an instance: [task id, pid], in order. */
  starts(): Array<[string, number]> {
    if (!existsSync(this.startsFile)) return [];
    const lines = readFileSync(this.startsFile, 'utf8').trim().split('\n').filter(Boolean);
    return lines.map((l) => [l.split(' ')[0]!, Number(l.split(' ')[1])]);
  }

  tasks(leader: BerthProcess): Promise<TaskView[]> {
    return getJson<{ tasks: TaskView[] }>(`${leader.url}/api/v1/tasks?all=true`).then((r) => r.tasks);
  }

  /**
   * `count` instances RUNNING, as the services framework and the master see them; each started exactly
   * once; the ones seen before still run with the same PID.
   */
  async assertInstances(leader: BerthProcess, count: number): Promise<void> {
    const app = await eventually(
      async () => {
        const { app } = await getJson<{ app: ServiceView }>(`${leader.url}/v2/apps/web`);
        const running = app.instances.filter((i) => i.state === 'TASK_RUNNING');
        return running.length === count && app.instances.length === count ? app : undefined;
      },
      30_000,
      `${count} instances of /web RUNNING`,
    );
    const ids = app.instances.map((i) => i.id).sort();
    const running = (await this.tasks(leader)).filter((t) => t.state === 'TASK_RUNNING');
    assert.deepEqual(running.map((t) => t.id).sort(), ids, 'the master runs exactly these tasks');
    const starts = await eventually(
      async () => (this.starts().length >= count ? this.starts() : undefined),
      10_000,
      `${count} starts`,
    );
    assert.deepEqual(starts.map(([id]) => id).sort(), ids, 'each instance started exactly once');
    for (const [id, pid] of starts) {
      if (this.pids.has(id)) assert.equal(pid, this.pids.get(id), `instance ${id} kept its process`);
      this.pids.set(id, pid);
      assert.doesNotThrow(() => process.kill(pid, 0), `instance ${id} (pid ${pid}) runs`);
    }
  }

  async agentsActive(leader: BerthProcess): Promise<boolean> {
    const { agents } = await getJson<{ agents: AgentView[] }>(`${leader.url}/api/v1/agents`);
    return agents.length === this.agents.length && agents.every((a) => a.state === 'ACTIVE');
  }

  async frameworksActive(leader: BerthProcess): Promise<boolean> {
    const { frameworks } = await getJson<{ frameworks: FrameworkView[] }>(`${leader.url}/api/v1/frameworks`);
    return ['run', 'services'].every((name) => frameworks.some((f) => f.name === name && f.active));
  }

  /** The new leader's store: read the leader key and make fenced writes as any process could. */
  openStore(): Promise<EtcdStore> {
    return EtcdStore.open({ hosts: this.etcd.clientUrls, namespace: this.namespace });
  }

  async destroy(): Promise<void> {
    for (const a of this.agents) await a.stop('SIGKILL');
    for (const m of this.masters) {
      m.signal('SIGCONT');
      await m.stop('SIGKILL');
    }
    for (const pid of this.pids.values()) {
      try {
        process.kill(-pid, 'SIGKILL'); // each task leads its own process group
      } catch {
        // already gone
      }
    }
    await this.etcd?.dispose();
    rmSync(this.home, { recursive: true, force: true });
  }
}

/** Polls every 50 ms: the time (s) from `t0` until `check` holds. */
async function timeUntil(
  t0: number,
  what: string,
  check: () => Promise<boolean>,
  ms = 30_000,
): Promise<number> {
  await eventually(async () => ((await check().catch(() => false)) ? true : undefined), ms, what);
  return (performance.now() - t0) / 1000;
}

describe('three masters on etcd', { skip }, () => {
  const cluster = new HaCluster();
  before(() => cluster.start(), { timeout: 90_000 });
  after(() => cluster.destroy());

  test('one leader; standbys name it and redirect; a service of 6 instances is created through a standby', async () => {
    const leader = await eventually(() => cluster.leader(), 15_000, 'a leader');
    const views = await Promise.all(
      cluster.masters.map((m) => getJson<LeaderView>(`${m.url}/api/v1/leader`)),
    );
    assert.equal(views.filter((v) => v.is_leader).length, 1);
    assert.ok(views.every((v) => v.leader?.url === leader.url));
    const standby = cluster.masters.find((m) => m !== leader)!;
    const redirect = await fetch(`${standby.url}/api/v1/tasks`, { redirect: 'manual' });
    assert.equal(redirect.status, 307);
    assert.equal(redirect.headers.get('location'), `${leader.url}/api/v1/tasks`);
    await eventually(async () => ((await cluster.agentsActive(leader)) ? true : undefined), 20_000, 'agents');
    await cluster.createService(standby, 6);
    await cluster.assertInstances(leader, 6);
    const placed = new Set((await cluster.tasks(leader)).map((t) => t.agent_id));
    assert.equal(placed.size, 2, 'the instances are spread over both agents');
  });

  test('kill -9 of the leader: a new leader serves, agents and frameworks return, instances untouched', async () => {
    const old = (await cluster.leader())!;
    const others = cluster.masters.filter((m) => m !== old);
    const t0 = performance.now();
    await old.stop('SIGKILL');
    let next: BerthProcess | undefined;
    const serving = await timeUntil(
      t0,
      'a new leader',
      async () => (next = await cluster.leader(others)) !== undefined,
    );
    const registered = await timeUntil(t0, 'both agents re-registered', () => cluster.agentsActive(next!));
    console.log(
      `# failover after kill -9: new leader serving after ${serving.toFixed(2)} s, ` +
        `all agents re-registered after ${registered.toFixed(2)} s (goal: 5 s)`,
    );
    assert.ok(registered < 10, `failover took ${registered.toFixed(2)} s`);
    await timeUntil(t0, 'the frameworks to re-subscribe', () => cluster.frameworksActive(next!));
    await cluster.assertInstances(next!, 6);
    // The CLI, given every master (the dead one first), finds the leader by itself.
    const listed = [old.url, ...others.map((m) => m.url)].join(',');
    const ps = await runCli(['ps', '--master', listed], { ...process.env, BERTH_HOME: cluster.home });
    assert.equal(ps.code, 0, ps.stderr);
    assert.equal(
      ps.stdout.split('\n').filter((l) => l.includes('RUNNING')).length,
      cluster.pids.size,
      ps.stdout,
    );
    await cluster.scale(old === cluster.masters[0] ? cluster.masters[1]! : cluster.masters[0]!, 7);
    await cluster.assertInstances(next!, 7);
    await cluster.restartMaster(cluster.masters.indexOf(old));
  });

  test('a frozen leader loses its lease, stops leading, and its fence no longer admits writes', async () => {
    const old = (await cluster.leader())!;
    const store = await cluster.openStore();
    try {
      const key = await store.get<{ id: string }>('ha/leader');
      assert.ok(key);
      const oldFence = { key: 'ha/leader', createRevision: key.revision };
      const t0 = performance.now();
      old.signal('SIGSTOP');
      let next: BerthProcess | undefined;
      const others = cluster.masters.filter((m) => m !== old);
      const serving = await timeUntil(
        t0,
        'a new leader',
        async () => (next = await cluster.leader(others)) !== undefined,
      );
      console.log(`# SIGSTOP of the leader: new leader serving after ${serving.toFixed(2)} s`);
      const now = await store.get<{ id: string }>('ha/leader');
      assert.ok(now && now.revision > oldFence.createRevision && now.value.id !== key.value.id);
      // Any write of the old term carries the old fence: etcd refuses it.
      const before = await store.revision();
      await assert.rejects(
        store.apply([{ op: 'put', key: 'master/split-brain', value: 1 }], { fence: oldFence }),
        StoreConflictError,
      );
      assert.equal(await store.get('master/split-brain'), undefined);
      // The agents leave the frozen leader by themselves: a heartbeat it does not answer goes to the next
      // master, lands on the new leader, and the stream left on the old one is dropped.
      const moved = await timeUntil(
        t0,
        'both agents on the new leader',
        () => cluster.agentsActive(next!),
        60_000,
      );
      console.log(
        `# SIGSTOP of the leader: agents re-registered with the new leader after ${moved.toFixed(2)} s`,
      );
      old.signal('SIGCONT');
      // Woken up, the old leader sees its lease is gone before it does anything, and follows the new one.
      const view = await eventually(
        async () => {
          const v = await getJson<LeaderView>(`${old.url}/api/v1/leader`);
          return !v.is_leader && v.leader?.url === next!.url ? v : undefined;
        },
        10_000,
        'the old leader to follow the new one',
      );
      assert.equal(view.is_leader, false);
      assert.match(old.output, /no longer leader/);
      assert.ok((await store.revision()) >= before);
      await timeUntil(t0, 'both agents on the new leader', () => cluster.agentsActive(next!));
      await cluster.assertInstances(next!, 7);
    } finally {
      await store.close();
    }
  });

  test('etcd restarts under the masters: they recover without losing state', async () => {
    const before = await cluster.leader();
    assert.ok(before);
    await cluster.etcd.stop();
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const t0 = performance.now();
    await cluster.etcd.start();
    let leader: BerthProcess | undefined;
    const serving = await timeUntil(
      t0,
      'a leader after the etcd restart',
      async () => (leader = await cluster.leader()) !== undefined,
    );
    const registered = await timeUntil(t0, 'agents after the etcd restart', () =>
      cluster.agentsActive(leader!),
    );
    console.log(
      `# etcd restart: a leader serves ${serving.toFixed(2)} s after etcd is back, agents after ${registered.toFixed(2)} s`,
    );
    await cluster.assertInstances(leader!, 7);
    await cluster.scale(leader!, 8);
    await cluster.assertInstances(leader!, 8);
    assert.equal(cluster.pids.size, 8);
  });
});
