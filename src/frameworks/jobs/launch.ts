/**
 * Placing a batch of pending tasks on offers (pure): per run, one `placeInstances` call for all its
 * pending tasks, the candidates' free resources shrinking as runs are placed. Also the TaskInfo a job
 * task launches with.
 */
import type { Offer, TaskInfo } from '../../api/mesos.js';
import { addResources, subtractResources, type Resource } from '../../core/resources.js';
import {
  offerCandidate,
  placeInstances,
  type Candidate,
  type ExistingInstance,
  type InstanceRequirement,
} from '../placement/index.js';
import type { JobSpec, JobTask } from './types.js';

export interface PendingGroup {
  spec: JobSpec;
  /** Waiting tasks of one run, oldest first. */
  tasks: readonly JobTask[];
  /** Tasks of the same run already placed (for UNIQUE, MAX_PER …). */
  existing: readonly ExistingInstance[];
}

export interface PlannedLaunch {
  task: JobTask;
  spec: JobSpec;
  agentId: string;
  hostname: string;
  resources: Resource[];
}

export interface LaunchPlan {
  /** offer id → what to launch on it */
  byOffer: Map<string, PlannedLaunch[]>;
  /** offers nothing was placed on */
  unused: string[];
  unplaced: number;
  /** Why tasks were not placed, one line per run that had some left (for `berth job runs`). */
  reasons: Map<string, string>;
}

export function requirementOf(spec: JobSpec): InstanceRequirement {
  return {
    cpus: spec.resources.cpus,
    mem: spec.resources.mem,
    ...(spec.resources.disk !== undefined ? { disk: spec.resources.disk } : {}),
    ...(spec.resources.gpus !== undefined ? { gpus: spec.resources.gpus } : {}),
    ports: [],
    role: spec.role,
    constraints: spec.constraints,
  };
}

export function planLaunches(groups: readonly PendingGroup[], offers: readonly Offer[]): LaunchPlan {
  const candidates: Candidate[] = offers.map(offerCandidate);
  const byOffer = new Map<string, PlannedLaunch[]>();
  const reasons = new Map<string, string>();
  let unplaced = 0;
  for (const group of groups) {
    if (group.tasks.length === 0) continue;
    const result = placeInstances(requirementOf(group.spec), group.tasks.length, candidates, group.existing);
    const taken = new Map<string, Resource[]>();
    result.placements.forEach((p, i) => {
      const task = group.tasks[i]!;
      const list = byOffer.get(p.candidateId) ?? [];
      list.push({ task, spec: group.spec, agentId: p.agentId, hostname: p.hostname, resources: p.resources });
      byOffer.set(p.candidateId, list);
      taken.set(p.candidateId, addResources(taken.get(p.candidateId) ?? [], p.resources));
    });
    for (const c of candidates) {
      const used = taken.get(c.id);
      if (used) c.resources = subtractResources(c.resources, used);
    }
    unplaced += result.unplaced;
    if (result.unplaced > 0 && group.tasks[0]) reasons.set(group.tasks[0].runId, result.summary);
  }
  return {
    byOffer,
    unused: offers.map((o) => o.id.value).filter((id) => !byOffer.has(id)),
    unplaced,
    reasons,
  };
}

/** The TaskInfo of a job task placed on an agent. */
export function taskInfoFor(task: JobTask, spec: JobSpec, agentId: string, resources: Resource[]): TaskInfo {
  const env = Object.entries(spec.env ?? {}).map(([name, value]) => ({ name, value }));
  env.push({ name: 'BERTH_JOB_ID', value: spec.id }, { name: 'BERTH_JOB_RUN_ID', value: task.runId });
  const uris = spec.uris?.map((u) => ({ ...u }));
  let command: TaskInfo['command'];
  if (typeof spec.command === 'string') {
    const args = spec.args?.map(shellQuote).join(' ');
    command = { shell: true, value: args ? `${spec.command} ${args}` : spec.command };
  } else {
    const argv = [...(spec.command ?? []), ...(spec.args ?? [])];
    command = { shell: false, ...(argv.length > 0 ? { value: argv[0], arguments: argv } : {}) };
  }
  return {
    name: `${spec.id}.${task.runId}`,
    task_id: { value: task.id },
    agent_id: { value: agentId },
    resources,
    command: {
      ...command,
      environment: { variables: env },
      ...(spec.workdir ? { working_dir: spec.workdir } : {}),
      ...(uris && uris.length > 0 ? { uris } : {}),
    },
    ...(spec.image
      ? {
          container: {
            type: 'MESOS' as const,
            mesos: { image: { type: 'DOCKER' as const, docker: { name: spec.image } } },
          },
        }
      : {}),
    labels: {
      labels: [
        { key: 'berth.io/job', value: spec.id },
        { key: 'berth.io/job-run', value: task.runId },
      ],
    },
  };
}

const shellQuote = (s: string): string => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
