import type { TaskView } from '../api/operator.js';
import type { TaskRecord } from './types.js';

/** What the operator API shows of a task: its name, image, command and latest state. */
export function toTaskView(t: TaskRecord): TaskView {
  const command = t.task.command;
  const args = command?.shell
    ? ['sh', '-c', command.value ?? '']
    : (command?.arguments ?? (command?.value ? [command.value] : []));
  return {
    id: t.id,
    name: t.task.name,
    framework_id: t.framework_id,
    agent_id: t.agent_id,
    image: t.task.container?.mesos?.image?.docker.name ?? null,
    command: args,
    state: t.status.state,
    exit_code: t.status.exit_code ?? null,
    message: t.status.message ?? null,
    created_at: t.created_at,
    updated_at: t.updated_at,
  };
}
