import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { InvalidArgumentError } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/logger.js';
import { LaunchFailedError, RuntimeCommandFailedError } from './errors.js';
import { readHostLimits } from './host-limits.js';
import {
  prepareRuntimeDir,
  recoverFromFiles,
  SupervisorTable,
  validateSpec,
  waitForStart,
} from './launch-common.js';
import { computeRuntimeConfig, DEFAULT_PATH } from './runc-config.js';
import { readLastRuncError } from './runc-log.js';
import { firstLine, runCommand } from './run-command.js';
import {
  isSupervisorAlive,
  readExitStatus,
  readPid,
  runtimeFiles,
  spawnSupervisor,
  type RuntimeFiles,
} from './supervisor.js';
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

export const RUNC =
  ['/usr/sbin/runc', '/usr/bin/runc', '/usr/local/sbin/runc', '/usr/local/bin/runc'].find((p) =>
    existsSync(p),
  ) ?? 'runc';

const START_TIMEOUT_MS = 60_000;
const SIGNAL_ARG = { SIGTERM: 'TERM', SIGKILL: 'KILL' } as const;

/**
 * Runs each task as a runc container. The supervisor runs `runc run` in the foreground (not detached),
 * so the container's stdio are the sandbox's log files and runc's status is the container's (128+N for
 * signal N). `runc run` deletes the container when it exits; destroy() only cleans what is left.
 */
export class RuncLauncher implements Launcher {
  readonly kind = 'runc' as const;
  private readonly supervisors = new SupervisorTable();
  private readonly stateRoot: string;
  private readonly logger: Logger;
  /** runc's `--root` is made once, at the first launch. */
  private stateRootMade = false;

  constructor(options: LauncherOptions) {
    this.stateRoot = resolve(options.stateRoot);
    this.logger = options.logger ?? silentLogger;
  }

  async launch(spec: LaunchSpec): Promise<{ pid: number }> {
    validateSpec(spec);
    if (spec.rootfs === undefined)
      throw new InvalidArgumentError(`task ${spec.id}: the runc launcher needs a rootfs`);
    const rootfs = resolve(spec.rootfs);
    if (!existsSync(rootfs)) throw new LaunchFailedError(spec.id, `rootfs ${rootfs} does not exist`);
    const files = runtimeFiles(spec.sandbox);
    prepareRuntimeDir(files, spec.id);
    const bundle = join(files.dir, 'bundle');
    mkdirSync(bundle);
    if (!this.stateRootMade) mkdirSync(this.stateRoot, { recursive: true });
    this.stateRootMade = true;
    const config = computeRuntimeConfig({ ...spec, rootfs }, readHostLimits());
    writeFileSync(join(bundle, 'config.json'), JSON.stringify(config));
    const command = [
      RUNC,
      ...this.runc(files),
      'run',
      '--bundle',
      bundle,
      '--pid-file',
      files.taskPid,
      spec.id,
    ];
    const child = spawnSupervisor(files, command, { env: { PATH: DEFAULT_PATH }, cwd: files.dir });
    this.supervisors.add(files.sandbox, child);
    const outcome = await waitForStart(files, child, spec.id, START_TIMEOUT_MS);
    if (!outcome.started) throw new LaunchFailedError(spec.id, this.failureReason(files, outcome.status));
    this.logger.debug({ task: spec.id, pid: outcome.pid }, 'runc container started');
    return { pid: outcome.pid };
  }

  wait(_id: string, sandbox: string): Promise<ExitStatus> {
    return this.supervisors.wait(runtimeFiles(sandbox));
  }

  async kill(id: string, sandbox: string, signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
    const files = runtimeFiles(sandbox);
    if (readExitStatus(files)) return;
    const result = await runCommand(RUNC, [...this.runc(files), 'kill', id, SIGNAL_ARG[signal]]);
    if (result.code === 0 || readExitStatus(files)) return;
    if ((await this.containerStatus(id)) !== 'running') return; // gone, or stopped and being reaped
    throw new RuntimeCommandFailedError(
      `runc kill ${id}`,
      readLastRuncError(this.logFile(files)) ?? firstLine(result.stderr),
    );
  }

  async recover(id: string, sandbox: string): Promise<RecoverResult> {
    const found = recoverFromFiles(runtimeFiles(sandbox));
    if (found.state !== 'lost') return found;
    const status = await this.containerStatus(id);
    return status === undefined
      ? found
      : { state: 'lost', message: `${found.message}; the container is ${status}` };
  }

  async destroy(id: string, sandbox: string): Promise<void> {
    const files = runtimeFiles(sandbox);
    const supervisorPid = readPid(files.supervisorPid);
    if (supervisorPid !== undefined && isSupervisorAlive(supervisorPid, files)) {
      await this.kill(id, sandbox, 'SIGKILL');
      await this.wait(id, sandbox);
    }
    // `runc run` deletes its container when the container exits; only a crash leaves state to delete.
    if (existsSync(join(this.stateRoot, id))) {
      const result = await runCommand(RUNC, ['--root', this.stateRoot, 'delete', '--force', id]);
      if (result.code !== 0 && (await this.containerStatus(id)) !== undefined) {
        throw new RuntimeCommandFailedError(`runc delete ${id}`, firstLine(result.stderr));
      }
    }
    this.supervisors.delete(files.sandbox);
    rmSync(files.dir, { recursive: true, force: true });
  }

  /**
   * `runc exec` in the task's container: its namespaces, rootfs, user and environment (plus `spec.env`).
   * runc forwards the SIGTERM of a timeout to the command.
   */
  exec(id: string, _sandbox: string, spec: ExecSpec): Promise<ExecStatus> {
    const args = ['--root', this.stateRoot, 'exec'];
    for (const [name, value] of Object.entries(spec.env)) args.push('--env', `${name}=${value}`);
    if (spec.cwd) args.push('--cwd', spec.cwd);
    args.push(id, ...spec.args);
    return execCommand(RUNC, args, { env: { PATH: DEFAULT_PATH }, timeoutMs: spec.timeoutMs });
  }

  /** runc's status for a container ("created", "running", "stopped", ...), undefined if it has none. */
  async containerStatus(id: string): Promise<string | undefined> {
    const result = await runCommand(RUNC, ['--root', this.stateRoot, 'state', id]);
    if (result.code !== 0) return undefined;
    return (JSON.parse(result.stdout) as { status?: string }).status;
  }

  private runc(files: RuntimeFiles): string[] {
    return ['--root', this.stateRoot, '--log', this.logFile(files), '--log-format', 'json'];
  }

  private logFile(files: RuntimeFiles): string {
    return join(files.dir, 'runc.log');
  }

  /** One line on why the container never started: runc's last logged error, else its stderr. */
  private failureReason(files: RuntimeFiles, status: ExitStatus): string {
    const fromLog = readLastRuncError(this.logFile(files));
    if (fromLog) return fromLog;
    const stderr = readTail(join(files.sandbox, 'stderr'));
    if (stderr) return stderr;
    return status.message ?? `runc exited with status ${status.exitCode ?? status.signal}`;
  }
}

function readTail(file: string): string | undefined {
  try {
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    return lines[lines.length - 1]?.trim() || undefined;
  } catch {
    return undefined;
  }
}
