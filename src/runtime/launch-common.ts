import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { ConflictError, InvalidArgumentError } from '../core/errors.js';
import { LaunchFailedError } from './errors.js';
import {
  isSupervisorAlive,
  lostStatus,
  pollUntil,
  readExitStatus,
  readPid,
  waitForExit,
  type RuntimeFiles,
} from './supervisor.js';
import type { ExitStatus, LaunchSpec, RecoverResult } from './types.js';

const ID_PATTERN = /^[a-zA-Z0-9_.-]+$/;

export function validateSpec(spec: LaunchSpec): void {
  if (!ID_PATTERN.test(spec.id) || spec.id === '.' || spec.id === '..') {
    throw new InvalidArgumentError(`invalid task id "${spec.id}": use letters, digits, "_", "." and "-"`);
  }
  if (spec.args.length === 0 || spec.args[0] === '') {
    throw new InvalidArgumentError(`task ${spec.id} has no command: args is empty`);
  }
  if (!existsSync(spec.sandbox)) throw new InvalidArgumentError(`sandbox ${spec.sandbox} does not exist`);
}

/**
 * Makes a fresh `.runtime/` directory. A sandbox belongs to one task, but a retried launch may find the
 * files of a previous attempt: those are removed, unless that attempt's supervisor is still alive.
 */
export function prepareRuntimeDir(files: RuntimeFiles, id: string): void {
  const pid = readPid(files.supervisorPid);
  if (pid !== undefined && isSupervisorAlive(pid, files)) {
    throw new ConflictError(`task ${id} is already running in ${files.sandbox} (supervisor pid ${pid})`);
  }
  rmSync(files.dir, { recursive: true, force: true });
  mkdirSync(files.dir, { recursive: true });
}

export type StartOutcome = { started: true; pid: number } | { started: false; status: ExitStatus };

/**
 * Waits until the task's pid file appears (started) or the supervisor writes `exit` without one (the
 * task never started). Polls every 5 ms as well as watching the directory, to keep launch latency low.
 */
export async function waitForStart(
  files: RuntimeFiles,
  child: ChildProcess,
  id: string,
  timeoutMs: number,
): Promise<StartOutcome> {
  const spawnError = new Promise<never>((_, reject) =>
    child.once('error', (err) =>
      reject(new LaunchFailedError(id, `cannot spawn supervisor: ${err.message}`, { cause: err })),
    ),
  );
  const started = pollUntil<StartOutcome>(
    files.dir,
    () => {
      // Read `exit` before the pid file: a pid file written at all is complete before `exit` exists.
      const gone = child.exitCode !== null || child.signalCode !== null;
      const status = readExitStatus(files);
      const pid = readPid(files.taskPid);
      if (pid !== undefined) return { started: true, pid };
      if (status) return { started: false, status };
      return gone ? { started: false, status: readExitStatus(files) ?? lostStatus() } : undefined;
    },
    { intervalMs: 5, timeoutMs, what: `task ${id} to start`, child },
  ).catch((err: unknown) => {
    // Timed out: the supervisor is left running; the caller may kill() and destroy() the task.
    throw new LaunchFailedError(id, err instanceof Error ? err.message : String(err), { cause: err });
  });
  return Promise.race([started, spawnError]);
}

/** Shared recover(): the exit file wins, then a live supervisor, else the task is lost. */
export function recoverFromFiles(files: RuntimeFiles): RecoverResult {
  if (!existsSync(files.dir)) return { state: 'lost', message: `no runtime state in ${files.sandbox}` };
  const status = readExitStatus(files);
  if (status) return { state: 'exited', status };
  const supervisorPid = readPid(files.supervisorPid);
  if (supervisorPid !== undefined && isSupervisorAlive(supervisorPid, files)) {
    const pid = readPid(files.taskPid);
    return { state: 'running', pid: pid ?? supervisorPid };
  }
  const late = readExitStatus(files);
  if (late) return { state: 'exited', status: late };
  return { state: 'lost', message: 'supervisor died without recording an exit status' };
}

/** Tracks the supervisors this process spawned, so wait() can use their 'exit' event. */
export class SupervisorTable {
  private readonly children = new Map<string, ChildProcess>();

  add(sandbox: string, child: ChildProcess): void {
    this.children.set(sandbox, child);
    // Once it has exited, `.runtime/exit` (or its absence) tells the rest.
    child.once('exit', () => {
      if (this.children.get(sandbox) === child) this.children.delete(sandbox);
    });
  }

  wait(files: RuntimeFiles): Promise<ExitStatus> {
    if (!existsSync(files.dir) && !this.children.has(files.sandbox)) {
      return Promise.resolve(lostStatus(`no runtime state in ${files.sandbox}`));
    }
    return waitForExit(files, this.children.get(files.sandbox));
  }

  delete(sandbox: string): void {
    this.children.delete(sandbox);
  }
}
