import type { FrameworkInfo, TaskInfo, TaskStatus } from '../api/mesos.js';

/**
 * What the agent checkpoints of each task, so that it survives a restart: what never changes under
 * `agent/tasks/<id>` (written once), the rest (status, pending updates, flags) under `agent/task-state/<id>`.
 */
export interface AgentTask {
  framework_id: string;
  framework_info: FrameworkInfo;
  task: TaskInfo;
  sandbox: string;
  /** The latest status, acknowledged or not. */
  status: TaskStatus;
  /** Status updates not yet acknowledged by the framework, oldest first. */
  pending: TaskStatus[];
  /** The sandbox was removed after the task ended (`--rm`). */
  removed: boolean;
  /**
   * The runtime's state and the rootfs mount were released after the task ended. The terminal update goes
   * out before that, so a crash in between leaves a terminal task that recovery still has to clean up.
   */
  cleaned?: boolean;
  launched_at: number;
  /** When the task reached TASK_RUNNING (ms): its checks' delay and grace period count from here. */
  running_at?: number;
}
