/**
 * The rules of persistent volumes that the master and the agent share, as pure functions: what a
 * persistence id and a container path may be, a volume's identity on an agent, and whether a live task
 * uses a volume (then it cannot be destroyed). Where volumes live on disk is the agent's (`agent/volumes.ts`).
 */
import { InvalidArgumentError } from './errors.js';
import { isPersistentVolume, reservedRole, type Resource } from './resources.js';

/** One safe path segment: letters, digits, `_`, `-`, `.`; not `.` or `..`; at most 128 characters. */
const SEGMENT = /^[A-Za-z0-9_.-]{1,128}$/;

/** Why `value` cannot be a single path segment, or undefined when it can. */
export function segmentProblem(value: string): string | undefined {
  if (!SEGMENT.test(value) || value === '.' || value === '..')
    return 'must be 1-128 of [A-Za-z0-9_.-] and not "." or ".."';
  return undefined;
}

/** Why `path` cannot be a container_path (relative, no `..`, no empty segments), or undefined. */
export function containerPathProblem(path: string): string | undefined {
  if (path === '' || path.startsWith('/')) return 'must be a relative path';
  for (const part of path.split('/'))
    if (part === '' || part === '.' || part === '..') return 'must not contain "", "." or ".." segments';
  if (/[\0\n]/.test(path)) return 'must not contain NUL or newline';
  return undefined;
}

/** Checks a volume's persistence id and container path; throws one clear line naming the field. */
export function validateVolume(volume: Resource): void {
  const id = volume.disk?.persistence?.id;
  if (id === undefined) throw new InvalidArgumentError('disk.persistence.id is required for a volume');
  const idProblem = segmentProblem(id);
  if (idProblem) throw new InvalidArgumentError(`disk.persistence.id "${id}" ${idProblem}`);
  const role = reservedRole(volume);
  const roleProblem = role
    .split('/')
    .map(segmentProblem)
    .find((p) => p !== undefined);
  if (roleProblem) throw new InvalidArgumentError(`the volume's role "${role}" ${roleProblem}`);
  const path = volume.disk?.volume?.container_path;
  if (path === undefined) throw new InvalidArgumentError(`disk.volume.container_path of "${id}" is required`);
  const pathProblem = containerPathProblem(path);
  if (pathProblem) throw new InvalidArgumentError(`disk.volume.container_path "${path}" ${pathProblem}`);
}

/** Identity of a volume on an agent: its role and persistence id (Mesos's uniqueness rule). */
export const volumeKey = (v: Resource): string => `${reservedRole(v)}/${v.disk?.persistence?.id ?? ''}`;

/**
 * The first of `volumes` that a running task uses, as a reason for refusing to DESTROY it; undefined when
 * none is in use. `tasks` are the resource lists of the agent's live tasks.
 */
export function volumeInUse(
  volumes: readonly Resource[],
  tasks: ReadonlyArray<{ id: string; resources: readonly Resource[] }>,
): string | undefined {
  const used = new Map<string, string>();
  for (const task of tasks)
    for (const r of task.resources) if (isPersistentVolume(r)) used.set(volumeKey(r), task.id);
  for (const v of volumes) {
    const user = used.get(volumeKey(v));
    if (user !== undefined)
      return `volume "${v.disk?.persistence?.id ?? ''}" of role "${reservedRole(v)}" is in use by task ${user}`;
  }
  return undefined;
}
