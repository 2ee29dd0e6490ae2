import type { Logger } from '../core/logger.js';

export interface LaunchSpec {
  /** Task id: container id and (for runc) hostname; `[a-zA-Z0-9_.-]`. */
  id: string;
  /** Existing dir owned by this task: logs `stdout` and `stderr` go here; private files in `.runtime/`. */
  sandbox: string;
  /** argv, already combined from entrypoint/cmd by the caller. */
  args: string[];
  env: Record<string, string>;
  /** Inside the container (runc) or relative to the sandbox (process); default "/" (runc) or the sandbox. */
  cwd?: string;
  user?: { uid: number; gid: number };
  /** runc only: the container's root: an overlay already mounted here, or the mount point for `overlay`. */
  rootfs?: string;
  /**
   * runc only: an overlay that runc mounts as the container's root, inside the container's own mount
   * namespace. Nothing is mounted on the host, and the mount goes away with the container.
   */
  overlay?: { options: string };
  /** runc only: host directories bind-mounted into the container (e.g. the sandbox's files). */
  mounts?: Array<{ source: string; destination: string; readonly?: boolean }>;
  resources: { cpus: number; memMiB: number };
}

/**
 * How a task ended. A supervisor sees a shell status, so a status above 128 whose low bits name a signal
 * is reported as that signal (`exitCode: null, signal: 'SIGTERM'`) — as a shell, Docker and Mesos do. A
 * task that really called `exit(143)` is therefore reported as killed by SIGTERM.
 */
export type ExitStatus = {
  exitCode: number | null;
  signal: string | null;
  finishedAt: number;
  message?: string;
};

/** A short command run beside a running task (a command check): in its container, or in its sandbox. */
export interface ExecSpec {
  args: string[];
  /** runc: added to the container's environment; process: the whole environment. */
  env: Record<string, string>;
  /** Inside the container (runc, default the task's) or relative to the sandbox (process). */
  cwd?: string;
  /** Killed after this long: `timedOut` is then true. */
  timeoutMs: number;
}

export interface ExecStatus {
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  /** The start of the command's output (stdout then stderr), for messages. */
  output: string;
}

export type RecoverResult =
  | { state: 'running'; pid: number }
  | { state: 'exited'; status: ExitStatus }
  | { state: 'lost'; message: string };

export interface Launcher {
  readonly kind: 'runc' | 'process';
  /** Resolves once the task's process is started (for runc: after the container is created and started). */
  launch(spec: LaunchSpec): Promise<{ pid: number }>;
  /** Resolves when the task has exited; works after an agent restart too. */
  wait(id: string, sandbox: string): Promise<ExitStatus>;
  /** No error if the task is already gone. */
  kill(id: string, sandbox: string, signal: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  /** After an agent restart: is the task still running, already exited (with its status), or lost? */
  recover(id: string, sandbox: string): Promise<RecoverResult>;
  /** After exit: delete runtime state (runc delete, cgroup, `.runtime/`); keeps the logs. */
  destroy(id: string, sandbox: string): Promise<void>;
  /** Runs a command beside the running task (`runc exec`, or a process in the sandbox); never rejects for a non-zero exit. */
  exec(id: string, sandbox: string, spec: ExecSpec): Promise<ExecStatus>;
}

export interface LauncherOptions {
  /** runc's `--root`: where runc keeps container state. Unused by the process launcher. */
  stateRoot: string;
  logger?: Logger;
}
