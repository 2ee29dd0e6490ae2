/**
 * Persistent volumes on an agent's disk. A volume (a disk resource with `disk.persistence`) lives in
 * `<work dir>/volumes/roles/<role>/<persistence id>`, outside every sandbox, so its data outlives the
 * tasks that use it. The pure parts say where a volume lives and where a task sees it; the I/O parts
 * (create, destroy, link into a sandbox) sit at the end.
 *
 * Where a task sees a volume (`disk.volume.container_path`, always relative):
 * - runc (a task with an image): bind-mounted at `/<container_path>` inside the container's root, read-only
 *   when the volume's mode is RO — as Mesos does for a container with its own root file system;
 * - the process launcher (no image): a symlink `<sandbox>/<container_path>` to the volume's directory (the
 *   process launcher does not create mount namespaces; RO is not enforced there).
 */
import { mkdir, rm, symlink, lstat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { checkpointedOf, isPersistentVolume, reservedRole, type Resource } from '../core/resources.js';
import { validateVolume, volumeKey } from '../core/volumes.js';
import type { StateStore } from '../store/index.js';
import type { LaunchSpec } from '../runtime/index.js';

/** The directory of a volume on the agent (roles with `/` become nested directories). */
export function volumeDir(workDir: string, volume: Resource): string {
  validateVolume(volume);
  return join(workDir, 'volumes', 'roles', ...reservedRole(volume).split('/'), volume.disk!.persistence!.id);
}

export interface VolumeMount {
  /** The volume's directory on the agent. */
  source: string;
  /** Relative to the container's root (runc) or the sandbox (process launcher). */
  containerPath: string;
  readonly: boolean;
}

/** The volumes among a task's resources and where it sees them. */
export function volumeMounts(workDir: string, resources: readonly Resource[]): VolumeMount[] {
  return resources.filter(isPersistentVolume).map((v) => ({
    source: volumeDir(workDir, v),
    containerPath: v.disk!.volume!.container_path,
    readonly: v.disk?.volume?.mode === 'RO',
  }));
}

/** runc mounts (absolute destinations inside the container) for a task's volumes. */
export const runcVolumeMounts = (
  mounts: readonly VolumeMount[],
): Array<{ source: string; destination: string; readonly?: boolean }> =>
  mounts.map((m) => ({
    source: m.source,
    destination: `/${m.containerPath}`,
    ...(m.readonly ? { readonly: true } : {}),
  }));

const CHECKPOINT_KEY = 'agent/checkpointed-resources';

/**
 * The agent's side of reservations and volumes: keeps the checkpointed resources in the agent's store,
 * reports them when it subscribes, and makes the volumes' directories follow what the master sends.
 */
export class AgentVolumes {
  private current: Resource[] = [];

  constructor(
    private readonly store: StateStore,
    private readonly workDir: string,
  ) {}

  get resources(): Resource[] {
    return this.current;
  }

  async recover(): Promise<void> {
    this.current = (await this.store.get<Resource[]>(CHECKPOINT_KEY))?.value ?? [];
  }

  /** The master's new checkpoint: creates new volumes' directories, removes destroyed ones, stores it. */
  async update(resources: readonly Resource[]): Promise<void> {
    const next = checkpointedOf(resources);
    const keys = new Set(next.filter(isPersistentVolume).map(volumeKey));
    const before = new Set(this.current.filter(isPersistentVolume).map(volumeKey));
    await createVolumeDirs(
      this.workDir,
      next.filter((v) => isPersistentVolume(v) && !before.has(volumeKey(v))),
    );
    await destroyVolumeDirs(
      this.workDir,
      this.current.filter((v) => isPersistentVolume(v) && !keys.has(volumeKey(v))),
    );
    await this.store.apply([{ op: 'put', key: CHECKPOINT_KEY, value: next }]);
    this.current = next;
  }
}

/**
 * A task's launch spec with its volumes: bind mounts for runc (`rootfs` set), links in the sandbox for
 * the process launcher.
 */
export async function withVolumes(
  spec: LaunchSpec,
  resources: readonly Resource[],
  workDir: string | undefined,
  rootfs: string | undefined,
): Promise<LaunchSpec> {
  if (workDir === undefined) return spec;
  const mounts = volumeMounts(workDir, resources);
  if (mounts.length === 0) return spec;
  for (const m of mounts) await mkdir(m.source, { recursive: true });
  if (rootfs) return { ...spec, mounts: [...(spec.mounts ?? []), ...runcVolumeMounts(mounts)] };
  await linkVolumesIntoSandbox(spec.sandbox, mounts);
  return spec;
}

// ---- I/O ---------------------------------------------------------------------------------------------

/** Creates the directories of `volumes` (existing ones, and their data, are kept). */
export async function createVolumeDirs(workDir: string, volumes: readonly Resource[]): Promise<void> {
  for (const v of volumes) await mkdir(volumeDir(workDir, v), { recursive: true, mode: 0o755 });
}

/** Removes the directories of `volumes` and everything in them. */
export async function destroyVolumeDirs(workDir: string, volumes: readonly Resource[]): Promise<void> {
  for (const v of volumes) await rm(volumeDir(workDir, v), { recursive: true, force: true });
}

/** Process launcher: links each volume into the sandbox at its container path (creating the dir first). */
export async function linkVolumesIntoSandbox(sandbox: string, mounts: readonly VolumeMount[]): Promise<void> {
  for (const m of mounts) {
    await mkdir(m.source, { recursive: true });
    const at = join(sandbox, m.containerPath);
    await mkdir(dirname(at), { recursive: true });
    const existing = await lstat(at).catch(() => undefined);
    if (existing) await rm(at, { recursive: true, force: true });
    await symlink(m.source, at);
  }
}
