import { LABEL_REMOVE_SANDBOX, labelValue, type TaskInfo } from '../api/mesos.js';
import { scalarOf, type Resource } from '../core/resources.js';
import type { LaunchSpec } from '../runtime/index.js';
import type { UserIds } from '../runtime/user.js';

export interface ImageDefaults {
  Env?: string[];
  Cmd?: string[];
  Entrypoint?: string[];
  WorkingDir?: string;
  /** The image's USER ("name", "uid", "name:group", "uid:gid"), resolved in the rootfs at launch. */
  User?: string;
}

export const wantsSandboxRemoved = (task: TaskInfo): boolean =>
  labelValue(task.labels, LABEL_REMOVE_SANDBOX) === 'true';

/**
 * Turns a TaskInfo and its image's defaults into what the launcher runs. Docker's rules: arguments
 * replace the image's Cmd and keep its Entrypoint; with no command the image's Entrypoint + Cmd run; a
 * shell command (`shell: true`, Mesos's default when a value is given) runs as `/bin/sh -c VALUE`.
 */
export function computeLaunchSpec(
  task: TaskInfo,
  image: ImageDefaults | undefined,
  sandbox: string,
  rootfs?: string,
  user?: UserIds,
): LaunchSpec {
  const command = task.command;
  const entrypoint = image?.Entrypoint ?? [];
  let args: string[];
  if (command?.value !== undefined && command.shell !== false) args = ['/bin/sh', '-c', command.value];
  else if (command?.arguments && command.arguments.length > 0) args = [...entrypoint, ...command.arguments];
  else if (command?.value !== undefined) args = [...entrypoint, command.value];
  else args = [...entrypoint, ...(image?.Cmd ?? [])];
  const env: Record<string, string> = {};
  for (const pair of image?.Env ?? []) {
    const eq = pair.indexOf('=');
    if (eq > 0) env[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  for (const v of command?.environment?.variables ?? []) env[v.name] = v.value;
  env.BERTH_TASK_ID = task.task_id.value;
  const resources = task.resources as Resource[];
  const cwd = command?.working_dir ?? (image?.WorkingDir || undefined);
  return {
    id: task.task_id.value,
    sandbox,
    args,
    env,
    ...(cwd ? { cwd } : {}),
    ...(rootfs ? { rootfs } : {}),
    ...(user ? { user } : {}),
    resources: { cpus: scalarOf(resources, 'cpus'), memMiB: scalarOf(resources, 'mem') },
  };
}
