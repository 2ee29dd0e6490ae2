/**
 * A master link for agent tests: the agent subscribes as `a1`, every status update is recorded and
 * acknowledged at once, and `launch` delivers a LAUNCH of task `t1` from framework `f1`. Not used
 * outside tests.
 */
import type { AgentEvent } from '../api/agent.js';
import type { TaskInfo, TaskStatus } from '../api/mesos.js';
import type { ExitStatus } from '../runtime/index.js';
import type { TaskContainerizer } from './containerizer.js';
import type { AgentStreamHandlers, MasterLink } from './master-link.js';

/** A containerizer whose tasks launch at once and never exit, none recoverable; `over` replaces parts. */
export function fakeContainerizer(over: Partial<TaskContainerizer> = {}): TaskContainerizer {
  return {
    launch: async () => undefined,
    wait: () => new Promise<ExitStatus>(() => undefined),
    kill: async () => undefined,
    recover: async () => ({ state: 'lost', message: 'no' }),
    cleanup: async () => undefined,
    remove: async () => undefined,
    ...over,
  };
}

export function fakeMasterLink(): {
  link: MasterLink;
  updates: TaskStatus[];
  launch: (task?: Partial<TaskInfo>) => void;
} {
  const updates: TaskStatus[] = [];
  let handlers: AgentStreamHandlers | undefined;
  const link: MasterLink = {
    subscribe: async (_call, h) => {
      handlers = h;
      // After the stream id is known, as over HTTP.
      setTimeout(() =>
        h.onEvent({ type: 'SUBSCRIBED', subscribed: { agent_id: { value: 'a1' } } } as AgentEvent),
      );
      return { streamId: 's1' };
    },
    call: async (_stream, call) => {
      if (call.type !== 'UPDATE') return;
      const status = call.update.status;
      updates.push(status);
      queueMicrotask(() =>
        handlers?.onEvent({
          type: 'ACKNOWLEDGED',
          acknowledged: { task_id: status.task_id, uuid: status.uuid ?? '' },
        }),
      );
    },
    close: () => undefined,
  };
  const launch = (task: Partial<TaskInfo> = {}): void =>
    handlers?.onEvent({
      type: 'LAUNCH',
      launch: {
        framework_id: { value: 'f1' },
        framework_info: { name: 'test' },
        task: { name: 't', task_id: { value: 't1' }, agent_id: { value: 'a1' }, resources: [], ...task },
      },
    });
  return { link, updates, launch };
}
