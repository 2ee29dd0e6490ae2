import { accessSync, constants as fsConstants, existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { silentLogger, type Logger } from '../core/logger.js';
import { LaunchFailedError } from './errors.js';
import {
  prepareRuntimeDir,
  recoverFromFiles,
  SupervisorTable,
  validateSpec,
  waitForStart,
} from './launch-common.js';
import { DEFAULT_PATH } from './runc-config.js';
import { isSupervisorAlive, readExitStatus, readPid, runtimeFiles, spawnSupervisor } from './supervisor.js';
import { execCommand } from './exec-command.js';
import type {
  ExecSpec,
  ExecStatus,
  ExitStatus,
  LaunchSpec,
  Launcher,
  LauncherOptions,
  RecoverResult,
} from './types.js';

const SETSID = ['/usr/bin/setsid', '/bin/setsid'].find((p) => existsSync(p)) ?? 'setsid';
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p)) ?? 'setpriv';

/**
 * Runs between setsid and the task: records the task's pid (which, after setsid, is also its process
 * group) and execs the task, so the pid recorded is the task's own. $0 = the pid file.
 */
const TASK_WRAPPER = 'echo $$ > "$0"; exec "$@"';

const START_TIMEOUT_MS = 30_000;

/**
 * Runs tasks as plain host processes, without isolation or resource limits (`resources` is only
 * logged). For hosts where runc cannot run: not root, or no runc. The task runs in its own session and
 * process group, so kill() reaches its children too, and never the supervisor.
 */
export class ProcessLauncher implements Launcher {
  readonly kind = 'process' as const;
  private readonly supervisors = new SupervisorTable();
  private readonly logger: Logger;

  constructor(options: LauncherOptions) {
    this.logger = options.logger ?? silentLogger;
  }

  async launch(spec: LaunchSpec): Promise<{ pid: number }> {
    validateSpec(spec);
    const files = runtimeFiles(spec.sandbox);
    const cwd = resolve(files.sandbox, spec.cwd ?? '.');
    checkLaunchable(spec, cwd);
    prepareRuntimeDir(files, spec.id);
    const command = [
      SETSID,
      '/bin/sh',
      '-c',
      TASK_WRAPPER,
      files.taskPid,
      ...userPrefix(spec.user),
      ...spec.args,
    ];
    const child = spawnSupervisor(files, command, { env: { ...spec.env }, cwd });
    this.supervisors.add(files.sandbox, child);
    const outcome = await waitForStart(files, child, spec.id, START_TIMEOUT_MS);
    if (!outcome.started)
      throw new LaunchFailedError(spec.id, outcome.status.message ?? 'the task exited before it started');
    this.logger.debug({ task: spec.id, pid: outcome.pid, resources: spec.resources }, 'process task started');
    return { pid: outcome.pid };
  }

  wait(_id: string, sandbox: string): Promise<ExitStatus> {
    return this.supervisors.wait(runtimeFiles(sandbox));
  }

  async kill(_id: string, sandbox: string, signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
    const files = runtimeFiles(sandbox);
    if (readExitStatus(files)) return;
    const supervisorPid = readPid(files.supervisorPid);
    if (supervisorPid === undefined || !isSupervisorAlive(supervisorPid, files)) return;
    // The task leads its own process group; before its pid is recorded, only the supervisor's group exists.
    const group = readPid(files.taskPid) ?? supervisorPid;
    try {
      process.kill(-group, signal);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  }

  async recover(_id: string, sandbox: string): Promise<RecoverResult> {
    return recoverFromFiles(runtimeFiles(sandbox));
  }

  async destroy(id: string, sandbox: string): Promise<void> {
    const files = runtimeFiles(sandbox);
    const state = recoverFromFiles(files).state;
    if (state === 'running') {
      await this.kill(id, sandbox, 'SIGKILL');
      await this.wait(id, sandbox);
    } else if (state === 'lost') {
      killOrphanedTask(readPid(files.taskPid));
    }
    this.supervisors.delete(files.sandbox);
    rmSync(files.dir, { recursive: true, force: true });
  }

  /** Runs the command on the host, in the sandbox, with `spec.env` as its whole environment. */
  exec(_id: string, sandbox: string, spec: ExecSpec): Promise<ExecStatus> {
    const [program = '', ...args] = spec.args;
    const env = 'PATH' in spec.env ? spec.env : { PATH: DEFAULT_PATH, ...spec.env };
    const cwd = resolve(sandbox, spec.cwd ?? '.');
    return execCommand(program, args, { env, cwd, timeoutMs: spec.timeoutMs });
  }
}

/**
 * Kills the process group of a task whose supervisor died, if that pid still leads its own session
 * (as the task did after setsid): a pid reused by an unrelated process almost never does.
 */
function killOrphanedTask(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[3] === String(pid)) process.kill(-pid, 'SIGKILL'); // fields: state, ppid, pgrp, session
  } catch {
    // already gone
  }
}

function userPrefix(user: LaunchSpec['user']): string[] {
  if (!user) return [];
  return [SETPRIV, `--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', '--'];
}

/** Fails early, with one clear line, for what would otherwise only show up as status 126/127 later. */
function checkLaunchable(spec: LaunchSpec, cwd: string): void {
  if (!existsSync(cwd) || !statSync(cwd).isDirectory()) {
    throw new LaunchFailedError(spec.id, `working directory ${cwd} does not exist`);
  }
  const program = spec.args[0] ?? '';
  if (findExecutable(program, spec.env.PATH ?? DEFAULT_PATH, cwd) === undefined) {
    throw new LaunchFailedError(spec.id, `command not found: ${program}`);
  }
  const uid = process.getuid?.();
  if (spec.user && uid !== 0 && (spec.user.uid !== uid || spec.user.gid !== process.getgid?.())) {
    throw new LaunchFailedError(
      spec.id,
      `running as uid ${spec.user.uid} needs root (the agent runs as uid ${uid})`,
    );
  }
}

/** Resolves a program the way `exec` in sh does: a name with a slash is a path, else search PATH. */
export function findExecutable(program: string, path: string, cwd: string): string | undefined {
  const candidates = program.includes('/')
    ? [isAbsolute(program) ? program : join(cwd, program)]
    : path.split(delimiter).map((dir) => join(dir === '' ? cwd : dir, program));
  return candidates.find((file) => {
    try {
      accessSync(file, fsConstants.X_OK);
      return statSync(file).isFile();
    } catch {
      return false;
    }
  });
}
