import type { AgentInfo, FrameworkInfo, TaskInfo, TaskStatus } from '../api/mesos.js';
import type { OutputRecord } from '../api/agent.js';

/** Where a stream's events go: an HTTP response in RecordIO, or a callback in the same process. */
export interface EventSink<E> {
  send(event: E): void;
  close(reason?: string): void;
}

/** Reads a task's output from the agent that runs it (in-process, or over the agent's HTTP API). */
export interface AgentFiles {
  output(taskId: string, options: { follow: boolean; signal?: AbortSignal }): AsyncIterable<OutputRecord>;
}

/** The persisted part of a task, as the master stores it under `master/tasks/<id>`. */
export interface TaskRecord {
  id: string;
  framework_id: string;
  agent_id: string;
  task: TaskInfo;
  status: TaskStatus;
  created_at: number;
  updated_at: number;
  /** The uuid of the terminal update the framework acknowledged: the task may be forgotten (completed.ts). */
  acknowledged?: string;
}

export interface FrameworkRecord {
  id: string;
  info: FrameworkInfo;
  role: string;
  registered_at: number;
}

export interface AgentRecord {
  id: string;
  info: AgentInfo;
  registered_at: number;
  /** The agent's resources after dynamic reservations and volumes, when they differ from `info.resources`. */
  total?: AgentInfo['resources'];
  /** Maintenance: set by `berth node drain`, cleared by `berth node reactivate`. */
  drain?: { state: 'DRAINING' | 'DRAINED'; since: number; grace_seconds: number };
}
