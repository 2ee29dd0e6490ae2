import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, statSync, watch, type FSWatcher } from 'node:fs';
import { join, resolve } from 'node:path';
import { computeExitStatus, parseExitFile } from './exit-status.js';
import type { ExitStatus } from './types.js';

/**
 * Every task runs under a small shell supervisor that is detached from the agent (its own session, no
 * pipes to the agent), so the task outlives the agent. The supervisor records its pid, runs the task
 * command in the foreground with stdio on the sandbox's log files, and writes the command's status to
 * `.runtime/exit` as one line. The line is one small write(2): a reader sees the file empty or whole, and
 * `parseExitFile` takes a status only with its newline, so no temp file and `mv` (a process per task) are
 * needed. Arguments reach the shell as "$@", never inside the script text.
 *
 * Positional parameters: $0 = marker, $1 = sandbox, then the task command.
 */
const SUPERVISOR_SCRIPT = [
  'sb=$1; shift',
  'rt="$sb/.runtime"',
  'echo $$ > "$rt/supervisor.pid"',
  '"$@" </dev/null >>"$sb/stdout" 2>>"$sb/stderr"',
  'echo $? > "$rt/exit"',
].join('\n');

/** $0 of every supervisor; with the sandbox path it identifies a supervisor in /proc (pids get reused). */
const MARKER = 'berth-supervisor';

export interface RuntimeFiles {
  sandbox: string;
  dir: string;
  exit: string;
  supervisorPid: string;
  /** The task's pid: written by the process wrapper, or by runc's `--pid-file` (the container's init). */
  taskPid: string;
}

export function runtimeFiles(sandbox: string): RuntimeFiles {
  const abs = resolve(sandbox);
  const dir = join(abs, '.runtime');
  return {
    sandbox: abs,
    dir,
    exit: join(dir, 'exit'),
    supervisorPid: join(dir, 'supervisor.pid'),
    taskPid: join(dir, 'task.pid'),
  };
}

/**
 * Starts a supervisor for `command`. It gets its own session (detached), stdio on `/dev/null` and
 * `.runtime/supervisor.log`, and is unref'd: the agent may exit at any time without affecting it.
 */
export function spawnSupervisor(
  files: RuntimeFiles,
  command: readonly string[],
  options: { env: Record<string, string>; cwd: string },
): ChildProcess {
  const log = openSync(join(files.dir, 'supervisor.log'), 'a');
  try {
    const child = spawn('/bin/sh', ['-c', SUPERVISOR_SCRIPT, MARKER, files.sandbox, ...command], {
      detached: true,
      stdio: ['ignore', log, log],
      env: options.env,
      cwd: options.cwd,
    });
    child.unref();
    return child;
  } finally {
    closeSync(log);
  }
}

/** Reads a pid file; undefined while it is missing or still being written. */
export function readPid(file: string): number | undefined {
  try {
    const text = readFileSync(file, 'utf8').trim();
    return /^\d+$/.test(text) ? Number(text) : undefined;
  } catch {
    return undefined;
  }
}

/** The task's exit status from `.runtime/exit`, with the file's mtime as the finish time. */
export function readExitStatus(files: RuntimeFiles): ExitStatus | undefined {
  try {
    const code = parseExitFile(readFileSync(files.exit, 'utf8'));
    if (code === undefined) return undefined;
    return computeExitStatus(code, Math.round(statSync(files.exit).mtimeMs));
  } catch {
    return undefined;
  }
}

/** True when `pid` is alive and is the supervisor of this sandbox (not a reused pid, not a zombie). */
export function isSupervisorAlive(pid: number, files: RuntimeFiles): boolean {
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmdline.includes(`\0${MARKER}\0${files.sandbox}\0`);
  } catch {
    return false;
  }
}

export const SUPERVISOR_DIED = 'supervisor died';

/** Status for a supervisor that is gone without writing `exit`. */
export function lostStatus(message = SUPERVISOR_DIED): ExitStatus {
  return { exitCode: null, signal: null, finishedAt: Date.now(), message };
}

/**
 * Calls `check` whenever something changes in `dir` (inotify), when `child` exits, and every
 * `intervalMs`, until it returns a value. Rejects after `timeoutMs` (if given). The interval timer also
 * keeps the event loop alive: an unref'd child does not.
 */
export function pollUntil<T>(
  dir: string,
  check: () => T | undefined,
  options: { intervalMs: number; timeoutMs?: number; what?: string; child?: ChildProcess },
): Promise<T> {
  return new Promise((resolvePoll, rejectPoll) => {
    let watcher: FSWatcher | undefined;
    const finish = (fn: () => void): void => {
      clearInterval(timer);
      if (deadline) clearTimeout(deadline);
      watcher?.close();
      options.child?.off('exit', tick);
      fn();
    };
    const tick = (): void => {
      let value: T | undefined;
      try {
        value = check();
      } catch (err) {
        return finish(() => rejectPoll(err));
      }
      if (value !== undefined) finish(() => resolvePoll(value as T));
    };
    const timer = setInterval(tick, options.intervalMs);
    const deadline =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(
            () => finish(() => rejectPoll(new Error(`timed out waiting for ${options.what ?? 'the task'}`))),
            options.timeoutMs,
          );
    try {
      watcher = watch(dir, tick);
      watcher.on('error', () => watcher?.close());
    } catch {
      watcher = undefined; // the interval still polls
    }
    options.child?.on('exit', tick);
    tick();
  });
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/**
 * Waits for the supervisor to finish. When this process spawned it, its 'exit' event ends the wait;
 * otherwise `.runtime/exit` is watched and the supervisor is checked every 50 ms to still be alive.
 */
export function waitForExit(files: RuntimeFiles, child?: ChildProcess): Promise<ExitStatus> {
  const supervisorPid = readPid(files.supervisorPid) ?? child?.pid;
  const alive = (): boolean =>
    child ? !hasExited(child) : supervisorPid !== undefined && isSupervisorAlive(supervisorPid, files);
  return pollUntil(
    files.dir,
    () => {
      const status = readExitStatus(files);
      if (status) return status;
      if (alive()) return undefined;
      return readExitStatus(files) ?? lostStatus();
    },
    { intervalMs: 50, child },
  );
}
