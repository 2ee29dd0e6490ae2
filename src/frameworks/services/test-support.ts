/**
 * Test support for the services controller: a scripted master behind the SchedulerTransport interface
 * (the real boundary of a framework). It records every call, answers LAUNCH with STAGING then RUNNING
 * (and whatever `onLaunch` adds) and KILL with KILLED, and sends offers of its agents' free resources when
 * asked. Status updates and clock moves are driven by the test.
 */
import type { Offer, TaskInfo, TaskState, TaskStatus } from '../../api/mesos.js';
import type { SchedulerCall, SchedulerEvent } from '../../api/scheduler.js';
import { parseResources, subtractResources, type Resource } from '../../core/resources.js';
import type { SchedulerStreamHandlers, SchedulerTransport } from '../../sdk/index.js';
import type { ServiceSpec } from './types.js';
import { parseServiceSpec } from './spec.js';

export interface FakeAgent {
  id: string;
  hostname: string;
  resources: Resource[];
  attributes?: Record<string, string>;
}

export interface FakeTask {
  task: TaskInfo;
  state: TaskState;
  agentId: string;
}

export class FakeMaster {
  readonly calls: SchedulerCall[] = [];
  readonly tasks = new Map<string, FakeTask>();
  readonly agents: FakeAgent[] = [];
  /** The roles of each SUBSCRIBE, in order. */
  readonly subscriptions: string[][] = [];
  /** Extra updates after TASK_RUNNING, e.g. `{ healthy: true }`; none by default. */
  onLaunch: (task: TaskInfo) => Array<Partial<TaskStatus>> = () => [];
  private handlers: SchedulerStreamHandlers | undefined;
  private offerSerial = 0;
  private uuidSerial = 0;

  constructor(agents = 3, resources = 'cpus:8;mem:8192;disk:1000;ports:[31000-31999]') {
    for (let i = 0; i < agents; i++)
      this.agents.push({ id: `agent-${i}`, hostname: `host-${i}`, resources: parseResources(resources) });
  }

  /** A new transport to this master (each subscription gets one, as `ctx.transport()` does). */
  transport = (): SchedulerTransport => ({
    subscribe: async (call: SchedulerCall, handlers: SchedulerStreamHandlers) => {
      this.handlers = handlers;
      this.subscriptions.push(call.subscribe?.framework_info.roles ?? []);
      this.send({
        type: 'SUBSCRIBED',
        subscribed: { framework_id: { value: 'fw-1' }, heartbeat_interval_seconds: 15 },
      });
      return { streamId: 'stream-1' };
    },
    call: async (_streamId: string, call: SchedulerCall) => {
      this.calls.push(call);
      this.handle(call);
    },
    close: () => {
      this.handlers = undefined;
    },
  });

  private send(event: SchedulerEvent): void {
    const h = this.handlers;
    queueMicrotask(() => h?.onEvent(event));
  }

  private handle(call: SchedulerCall): void {
    if (call.type === 'ACCEPT') {
      for (const op of call.accept?.operations ?? []) {
        for (const task of op.launch?.task_infos ?? []) {
          const t = { task, state: 'TASK_STAGING' as TaskState, agentId: task.agent_id.value };
          this.tasks.set(task.task_id.value, t);
          this.update(task.task_id.value, 'TASK_STAGING');
          this.update(task.task_id.value, 'TASK_RUNNING');
          for (const extra of this.onLaunch(task)) this.update(task.task_id.value, 'TASK_RUNNING', extra);
        }
      }
    } else if (call.type === 'KILL' && call.kill) {
      const t = this.tasks.get(call.kill.task_id.value);
      if (t && !['TASK_KILLED', 'TASK_FAILED', 'TASK_FINISHED'].includes(t.state))
        this.update(call.kill.task_id.value, 'TASK_KILLED');
    } else if (call.type === 'RECONCILE') {
      for (const t of this.tasks.values()) this.update(t.task.task_id.value, t.state, {}, false);
    }
  }

  /** Sends a status update (and records the state). */
  update(taskId: string, state: TaskState, extra: Partial<TaskStatus> = {}, ack = true): void {
    const t = this.tasks.get(taskId);
    if (t) t.state = state;
    this.send({
      type: 'UPDATE',
      update: {
        status: {
          task_id: { value: taskId },
          state,
          ...(t ? { agent_id: { value: t.agentId } } : {}),
          timestamp: Date.now() / 1000,
          ...(ack ? { uuid: `u${this.uuidSerial++}` } : {}),
          ...extra,
        },
      },
    });
  }

  /** Offers every agent's free resources. */
  offer(): void {
    const offers: Offer[] = this.agents.map((a) => {
      let free = a.resources;
      for (const t of this.tasks.values())
        if (
          t.agentId === a.id &&
          !['TASK_KILLED', 'TASK_FAILED', 'TASK_FINISHED', 'TASK_LOST'].includes(t.state)
        )
          free = subtractResources(free, t.task.resources as Resource[]);
      return {
        id: { value: `offer-${this.offerSerial++}` },
        framework_id: { value: 'fw-1' },
        agent_id: { value: a.id },
        hostname: a.hostname,
        resources: free,
        attributes: Object.entries(a.attributes ?? {}).map(([name, value]) => ({
          name,
          type: 'TEXT' as const,
          text: { value },
        })),
      };
    });
    this.send({ type: 'OFFERS', offers: { offers } });
  }

  live(serviceTaskPrefix?: string): FakeTask[] {
    return [...this.tasks.values()].filter(
      (t) =>
        !['TASK_KILLED', 'TASK_FAILED', 'TASK_FINISHED', 'TASK_LOST', 'TASK_GONE'].includes(t.state) &&
        (!serviceTaskPrefix || t.task.task_id.value.startsWith(`${serviceTaskPrefix}.`)),
    );
  }

  callsOf(type: SchedulerCall['type']): SchedulerCall[] {
    return this.calls.filter((c) => c.type === type);
  }
}

/** Lets queued microtasks and immediates run (the controller syncs on setImmediate). */
export async function settle(rounds = 8): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** A complete, valid spec document with overrides (`mock.Job()` style). */
export function serviceDoc(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    kind: 'Service',
    id: '/shop/web',
    image: 'busybox',
    args: ['httpd', '-f'],
    instances: 2,
    resources: { cpus: 0.5, mem: 64, ports: ['http'] },
    ...overrides,
  };
}

export const serviceSpec = (overrides: Record<string, unknown> = {}): ServiceSpec =>
  parseServiceSpec(serviceDoc(overrides));
