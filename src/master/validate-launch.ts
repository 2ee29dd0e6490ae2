import type { CheckInfo, HealthCheck, TaskInfo } from '../api/mesos.js';
import { NAME_PATTERN } from '../core/ids.js';
import { addResources, containsResources, type Resource } from '../core/resources.js';

/**
 * Checks LAUNCH operations against the offered resources. Returns the first problem as one line, or
 * undefined when every task may launch.
 */
export function validateLaunch(
  tasks: readonly TaskInfo[],
  offered: readonly Resource[],
  agentId: string | undefined,
  taskExists: (id: string) => boolean,
): string | undefined {
  const ids = new Set<string>();
  let needed: Resource[] = [];
  for (const task of tasks) {
    const id = task.task_id.value;
    if (!NAME_PATTERN.test(id)) return `task id "${id}" is not valid: use letters, digits, "_", "." and "-"`;
    if (ids.has(id) || taskExists(id)) return `task id "${id}" is already in use`;
    ids.add(id);
    if (task.agent_id.value !== agentId)
      return `task "${id}" names agent "${task.agent_id.value}", but the offer is for "${agentId}"`;
    if (task.resources.length === 0) return `task "${id}" asks for no resources`;
    const check = checkProblem(task.health_check, 'health_check') ?? checkProblem(task.check, 'check');
    if (check) return `task "${id}": ${check}`;
    needed = addResources(needed, task.resources as Resource[]);
  }
  if (!containsResources(offered, needed)) return 'the tasks need more resources than the offers hold';
  return undefined;
}

const CHECK_FIELD = { HTTP: 'http', TCP: 'tcp', COMMAND: 'command' } as const;

/**
 * A check must carry the settings of its own type and no other's: a TCP check with only `http` set would
 * otherwise reach the agent and fail there, long after the launch was accepted.
 */
function checkProblem(check: HealthCheck | CheckInfo | undefined, field: string): string | undefined {
  if (!check) return undefined;
  const want = CHECK_FIELD[check.type];
  if (check[want] === undefined) return `${field}.${want} is needed for a ${check.type} check`;
  const other = Object.values(CHECK_FIELD).find((f) => f !== want && check[f] !== undefined);
  if (other) return `${field}.${other} does not belong in a ${check.type} check (it takes ${field}.${want})`;
  return undefined;
}
