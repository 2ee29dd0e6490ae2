/**
 * The containerizer: the provisioner (image → overlay rootfs: the image's cached layers as read-only
 * lower dirs, shared by all tasks, and a writable upper dir per task) plus a launcher (runc or process).
 * A task's sandbox holds its logs (`stdout`, `stderr`), its upper dir and its rootfs mount point.
 */
import { chown, mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { CommandInfo, TaskInfo } from '../api/mesos.js';
import type { Logger } from '../core/logger.js';
import { resolveOrPull, type ImageStore } from '../image/index.js';
import {
  computeOverlayOptions,
  mountOverlay,
  unmountOverlay,
  type ExecStatus,
  type ExitStatus,
  type Launcher,
  type LaunchSpec,
  type OverlayDirs,
  type RecoverResult,
} from '../runtime/index.js';
import { resolveUserInRootfs } from '../runtime/user.js';
import { fetchUris } from './fetcher.js';
import { computeLaunchSpec, type ImageDefaults } from './launch-spec.js';
import { withVolumes } from './volumes.js';
import type { Resource } from '../core/resources.js';

/**
 * Where a container sees its sandbox's files (fetched URIs among them), as in Mesos. On the host this is
 * `<sandbox>/files`: the sandbox itself holds the runtime's own files, which a task must not touch.
 */
export const CONTAINER_SANDBOX = '/mnt/mesos/sandbox';

export interface ContainerizerOptions {
  images: ImageStore;
  /** Runs tasks that have an image (runc, or the process launcher where runc cannot run). */
  launcher: Launcher;
  /** Runs tasks without an image, in their sandbox on the host's file system. */
  hostLauncher: Launcher;
  logger: Logger;
  /** The agent's work dir, where persistent volumes live (`volumes.ts`); without it volumes are not mounted. */
  workDir?: string;
}

/**
 * Where a task's overlay is mounted. Usually runc mounts it as the container's root in the container's own
 * mount namespace: no `mount` and `umount` processes per task (each a fork of the agent), and nothing to
 * unmount on the host when the task ends. The host mounts it instead when the image's USER must be looked
 * up in the merged /etc/passwd before the start, or when the lower dirs fit into mount's one page of
 * options only as paths relative to a working directory, which runc does not have.
 */
export function placeOverlay(dirs: OverlayDirs, imageUser: string | undefined): LaunchSpec['overlay'] {
  if (imageUser) return undefined;
  const { options, cwd } = computeOverlayOptions(dirs);
  return cwd === undefined ? { options } : undefined;
}

/**
 * What the agent needs of a containerizer. The real one is `Containerizer`; the simulator's hollow agents
 * (`src/sim/`) bring one whose tasks only pretend to run.
 */
export interface TaskContainerizer {
  launch(task: TaskInfo, sandbox: string): Promise<void>;
  wait(task: TaskInfo, sandbox: string): Promise<ExitStatus>;
  kill(task: TaskInfo, sandbox: string, signal: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  recover(task: TaskInfo, sandbox: string): Promise<RecoverResult>;
  cleanup(task: TaskInfo, sandbox: string): Promise<void>;
  remove(sandbox: string): Promise<void>;
  /** Runs a command check's command beside the running task; absent: command checks fail, saying so. */
  exec?(task: TaskInfo, sandbox: string, command: CommandInfo, timeoutMs: number): Promise<ExecStatus>;
}

export class Containerizer implements TaskContainerizer {
  constructor(private readonly options: ContainerizerOptions) {}

  get kind(): Launcher['kind'] {
    return this.options.launcher.kind;
  }

  private launcherFor(task: TaskInfo): Launcher {
    return task.container?.mesos?.image ? this.options.launcher : this.options.hostLauncher;
  }

  /** Provisions the rootfs and starts the task. Throws a BerthError (image not found, launch failed …). */
  async launch(task: TaskInfo, sandbox: string): Promise<void> {
    await mkdir(sandbox, { recursive: true, mode: 0o750 });
    const imageName = task.container?.mesos?.image?.docker.name;
    let defaults: ImageDefaults | undefined;
    let rootfs: string | undefined;
    let overlay: LaunchSpec['overlay'];
    if (imageName) {
      // Not in the store and named with a registry host: pulled here (concurrent tasks share one pull).
      const image = await resolveOrPull(this.options.images, imageName);
      defaults = image.config;
      if (this.options.launcher.kind === 'runc') {
        const dirs = {
          lowerDirs: await this.options.images.prepareLayers(image),
          upperDir: join(sandbox, 'upper'),
          workDir: join(sandbox, 'work'),
          target: join(sandbox, 'rootfs'),
        };
        rootfs = dirs.target;
        overlay = placeOverlay(dirs, defaults?.User);
        if (overlay)
          for (const dir of [dirs.upperDir, dirs.workDir, rootfs]) await mkdir(dir, { recursive: true });
        else await mountOverlay(dirs);
      }
    }
    this.options.logger.debug({ task: task.task_id.value }, 'rootfs ready');
    try {
      // The image's USER applies in its own rootfs (names resolved in its /etc/passwd), as with Docker.
      const user = rootfs && defaults?.User ? await resolveUserInRootfs(defaults.User, rootfs) : undefined;
      const spec = computeLaunchSpec(task, defaults, sandbox, rootfs, user);
      const files = await withVolumes(
        await this.prepareSandboxFiles(task, spec, sandbox, rootfs),
        task.resources as Resource[],
        this.options.workDir,
        rootfs,
      );
      await this.launcherFor(task).launch(overlay ? { ...files, overlay } : files);
    } catch (err) {
      if (rootfs) await unmountOverlay(rootfs).catch(() => undefined);
      throw err;
    }
  }

  /**
   * Fetches the task's URIs and tells it where its files are (`MESOS_SANDBOX`). A task on the host gets
   * them in its sandbox, its working directory; a container gets `<sandbox>/files` bind-mounted at
   * `/mnt/mesos/sandbox`.
   */
  private async prepareSandboxFiles(
    task: TaskInfo,
    spec: LaunchSpec,
    sandbox: string,
    rootfs: string | undefined,
  ): Promise<LaunchSpec> {
    const uris = task.command?.uris ?? [];
    if (!rootfs) {
      // The task's logs and the runtime's files share the sandbox: no artifact may replace them.
      await fetchUris(uris, sandbox, { reserved: ['stdout', 'stderr', '.runtime'] });
      return { ...spec, env: { MESOS_SANDBOX: resolve(sandbox), ...spec.env } };
    }
    const files = join(sandbox, 'files');
    await mkdir(files, { recursive: true, mode: 0o755 });
    await fetchUris(uris, files);
    if (spec.user) await chown(files, spec.user.uid, spec.user.gid);
    return {
      ...spec,
      env: { MESOS_SANDBOX: CONTAINER_SANDBOX, ...spec.env },
      mounts: [...(spec.mounts ?? []), { source: resolve(files), destination: CONTAINER_SANDBOX }],
    };
  }

  /**
   * A command check: `runc exec` in the task's container (its environment, plus the command's), or a
   * process in the sandbox with the task's environment, MESOS_SANDBOX and the command's.
   */
  exec(task: TaskInfo, sandbox: string, command: CommandInfo, timeoutMs: number): Promise<ExecStatus> {
    const launcher = this.launcherFor(task);
    const check = computeLaunchSpec({ ...task, command }, undefined, sandbox);
    const env =
      launcher.kind === 'runc'
        ? check.env
        : {
            ...computeLaunchSpec(task, undefined, sandbox).env,
            MESOS_SANDBOX: resolve(sandbox),
            ...check.env,
          };
    return launcher.exec(task.task_id.value, sandbox, { args: check.args, env, timeoutMs });
  }

  wait(task: TaskInfo, sandbox: string): Promise<ExitStatus> {
    return this.launcherFor(task).wait(task.task_id.value, sandbox);
  }

  kill(task: TaskInfo, sandbox: string, signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
    return this.launcherFor(task).kill(task.task_id.value, sandbox, signal);
  }

  recover(task: TaskInfo, sandbox: string): Promise<RecoverResult> {
    return this.launcherFor(task).recover(task.task_id.value, sandbox);
  }

  /** After the task ended: release the runtime's state and the rootfs mount. The upper dir and logs stay. */
  async cleanup(task: TaskInfo, sandbox: string): Promise<void> {
    const taskId = task.task_id.value;
    await this.launcherFor(task)
      .destroy(taskId, sandbox)
      .catch((err: unknown) => this.options.logger.warn({ err, task: taskId }, 'runtime cleanup failed'));
    await unmountOverlay(join(sandbox, 'rootfs')).catch((err: unknown) =>
      this.options.logger.warn({ err, task: taskId }, 'unmount failed'),
    );
  }

  /** Removes the whole sandbox, logs and writable layer included. Call it after `cleanup`. */
  async remove(sandbox: string): Promise<void> {
    await unmountOverlay(join(sandbox, 'rootfs')); // a no-op unless a crash left it mounted
    await rm(sandbox, { recursive: true, force: true });
  }
}
