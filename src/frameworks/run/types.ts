import { isTerminal, type TaskState } from '../../api/mesos.js';

/** What `berth run` asks for. */
export interface RunRequest {
  image?: string;
  /** argv; empty or absent runs the image's default command. */
  command?: string[];
  env?: Record<string, string>;
  workdir?: string;
  name?: string;
  cpus?: number;
  /** MiB */
  mem?: number;
  /** Remove the sandbox once the task has ended and its output was read. */
  rm?: boolean;
}

export type RunState = 'PENDING' | TaskState;

/** The run framework's record of one task, under `frameworks/run/tasks/<id>`. */
export interface RunTask {
  id: string;
  name: string;
  request: RunRequest;
  cpus: number;
  mem: number;
  state: RunState;
  agent_id?: string;
  exit_code?: number;
  message?: string;
  created_at: number;
  updated_at: number;
}

export const DEFAULT_CPUS = 0.1;
export const DEFAULT_MEM_MIB = 128;

export const isFinished = (state: RunState): boolean => state !== 'PENDING' && isTerminal(state);
