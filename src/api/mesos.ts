/**
 * The shared wire objects of the scheduler and agent APIs, in Mesos's JSON encoding (snake_case field
 * names, ids as `{ value }`). TypeBox schemas give both the TypeScript types and request validation.
 * berth's extensions to Mesos's objects are marked "berth:" and listed in docs/scheduler-api.md.
 */
import { Type, type Static } from '@sinclair/typebox';

const open = { additionalProperties: true } as const;

export const Id = Type.Object({ value: Type.String({ minLength: 1, maxLength: 256 }) }, open);
export type Id = Static<typeof Id>;

export const RangeSchema = Type.Object({ begin: Type.Integer(), end: Type.Integer() });
const ReservationLabels = Type.Object({
  labels: Type.Array(Type.Object({ key: Type.String(), value: Type.Optional(Type.String()) })),
});
/** One entry of a resource's reservation stack (Mesos's reservation refinement), outermost first. */
export const ReservationSchema = Type.Object(
  {
    type: Type.Union([Type.Literal('STATIC'), Type.Literal('DYNAMIC')]),
    role: Type.String({ minLength: 1 }),
    principal: Type.Optional(Type.String()),
    labels: Type.Optional(ReservationLabels),
  },
  open,
);
/** A persistent volume: persistence id (unique per role on an agent) and where tasks see it. */
export const DiskInfoSchema = Type.Object(
  {
    persistence: Type.Optional(
      Type.Object({ id: Type.String({ minLength: 1 }), principal: Type.Optional(Type.String()) }, open),
    ),
    volume: Type.Optional(
      Type.Object(
        {
          container_path: Type.String({ minLength: 1 }),
          mode: Type.Union([Type.Literal('RW'), Type.Literal('RO')]),
        },
        open,
      ),
    ),
  },
  open,
);
export const ResourceSchema = Type.Object(
  {
    name: Type.String({ minLength: 1 }),
    type: Type.Union([Type.Literal('SCALAR'), Type.Literal('RANGES'), Type.Literal('SET')]),
    scalar: Type.Optional(Type.Object({ value: Type.Number({ minimum: 0 }) })),
    ranges: Type.Optional(Type.Object({ range: Type.Array(RangeSchema) })),
    set: Type.Optional(Type.Object({ item: Type.Array(Type.String()) })),
    role: Type.Optional(Type.String()),
    reservations: Type.Optional(Type.Array(ReservationSchema)),
    reservation: Type.Optional(
      Type.Object(
        { principal: Type.Optional(Type.String()), labels: Type.Optional(ReservationLabels) },
        open,
      ),
    ),
    disk: Type.Optional(DiskInfoSchema),
    allocation_info: Type.Optional(Type.Object({ role: Type.String({ minLength: 1 }) }, open)),
  },
  open,
);

export const Label = Type.Object({ key: Type.String(), value: Type.Optional(Type.String()) });
export const Labels = Type.Object({ labels: Type.Array(Label) });
export type Labels = Static<typeof Labels>;

export const CommandUri = Type.Object(
  {
    value: Type.String({ minLength: 1 }),
    /** Extract `.tar`, `.tar.gz`, `.tgz` and `.zip` into the sandbox; default true. */
    extract: Type.Optional(Type.Boolean()),
    executable: Type.Optional(Type.Boolean()),
    /** The file name in the sandbox; default the last path segment of `value`. */
    output_file: Type.Optional(Type.String({ minLength: 1 })),
  },
  open,
);
export type CommandUri = Static<typeof CommandUri>;

export const CommandInfo = Type.Object(
  {
    shell: Type.Optional(Type.Boolean()),
    value: Type.Optional(Type.String()),
    arguments: Type.Optional(Type.Array(Type.String())),
    environment: Type.Optional(
      Type.Object({ variables: Type.Array(Type.Object({ name: Type.String(), value: Type.String() })) }),
    ),
    user: Type.Optional(Type.String()),
    /** berth: the working directory inside the container (Docker's `-w`). */
    working_dir: Type.Optional(Type.String()),
    /**
     * Artifacts fetched into the sandbox before the task starts: http(s)://, file:// or an absolute
     * path. `.tar`, `.tar.gz`/`.tgz` and `.zip` are extracted unless `extract` is false.
     */
    uris: Type.Optional(Type.Array(CommandUri)),
  },
  open,
);
export type CommandInfo = Static<typeof CommandInfo>;

const CheckType = Type.Union([Type.Literal('HTTP'), Type.Literal('TCP'), Type.Literal('COMMAND')]);
export type CheckType = Static<typeof CheckType>;
const Port = Type.Integer({ minimum: 1, maximum: 65535 });
const Seconds = Type.Number({ minimum: 0 });

/**
 * A health check, run by the agent while the task is RUNNING. `port` is a host port: tasks use host
 * networking, so the agent checks `127.0.0.1:port`. Defaults as in Mesos: delay 15, interval 10,
 * timeout 20, consecutive_failures 3, grace period 10.
 */
export const HealthCheck = Type.Object(
  {
    type: CheckType,
    http: Type.Optional(
      Type.Object(
        {
          port: Port,
          path: Type.Optional(Type.String()),
          scheme: Type.Optional(Type.Literal('http')),
          /** Healthy statuses; 200–399 when absent. */
          statuses: Type.Optional(Type.Array(Type.Integer({ minimum: 100, maximum: 599 }))),
        },
        open,
      ),
    ),
    tcp: Type.Optional(Type.Object({ port: Port }, open)),
    command: Type.Optional(CommandInfo),
    delay_seconds: Type.Optional(Seconds),
    interval_seconds: Type.Optional(Seconds),
    timeout_seconds: Type.Optional(Seconds),
    /** berth: 0 never kills (as Marathon's maxConsecutiveFailures: 0). */
    consecutive_failures: Type.Optional(Type.Integer({ minimum: 0 })),
    grace_period_seconds: Type.Optional(Seconds),
  },
  open,
);
export type HealthCheck = Static<typeof HealthCheck>;

/** A general (readiness) check: its result is reported in `TaskStatus.check_status`, nothing is killed. */
export const CheckInfo = Type.Object(
  {
    type: CheckType,
    http: Type.Optional(Type.Object({ port: Port, path: Type.Optional(Type.String()) }, open)),
    tcp: Type.Optional(Type.Object({ port: Port }, open)),
    command: Type.Optional(Type.Object({ command: CommandInfo }, open)),
    delay_seconds: Type.Optional(Seconds),
    interval_seconds: Type.Optional(Seconds),
    timeout_seconds: Type.Optional(Seconds),
  },
  open,
);
export type CheckInfo = Static<typeof CheckInfo>;

/** The result of a CheckInfo, as sent in `TaskStatus.check_status`. */
export interface CheckStatusInfo {
  type: CheckType;
  http?: { status_code?: number };
  tcp?: { succeeded?: boolean };
  command?: { exit_code?: number };
}

export const REASON_TASK_HEALTH_CHECK_STATUS_UPDATED = 'REASON_TASK_HEALTH_CHECK_STATUS_UPDATED';
export const REASON_TASK_CHECK_STATUS_UPDATED = 'REASON_TASK_CHECK_STATUS_UPDATED';

export const ContainerInfo = Type.Object(
  {
    type: Type.Union([Type.Literal('MESOS'), Type.Literal('DOCKER')]),
    mesos: Type.Optional(
      Type.Object({
        image: Type.Optional(
          Type.Object({
            type: Type.Literal('DOCKER'),
            docker: Type.Object({ name: Type.String({ minLength: 1 }) }),
          }),
        ),
      }),
    ),
  },
  open,
);

export const TaskInfo = Type.Object(
  {
    name: Type.String(),
    task_id: Id,
    agent_id: Id,
    resources: Type.Array(ResourceSchema),
    command: Type.Optional(CommandInfo),
    container: Type.Optional(ContainerInfo),
    labels: Type.Optional(Labels),
    kill_policy: Type.Optional(Type.Object({ grace_period: Type.Object({ nanoseconds: Type.Integer() }) })),
    health_check: Type.Optional(HealthCheck),
    /** A readiness check (Mesos's CheckInfo). */
    check: Type.Optional(CheckInfo),
  },
  open,
);
export type TaskInfo = Static<typeof TaskInfo>;

export const TASK_STATES = [
  'TASK_STAGING',
  'TASK_STARTING',
  'TASK_RUNNING',
  'TASK_KILLING',
  'TASK_FINISHED',
  'TASK_FAILED',
  'TASK_KILLED',
  'TASK_ERROR',
  'TASK_LOST',
  'TASK_DROPPED',
  'TASK_UNREACHABLE',
  'TASK_GONE',
  'TASK_GONE_BY_OPERATOR',
  'TASK_UNKNOWN',
] as const;
export type TaskState = (typeof TASK_STATES)[number];

const TERMINAL: ReadonlySet<TaskState> = new Set([
  'TASK_FINISHED',
  'TASK_FAILED',
  'TASK_KILLED',
  'TASK_ERROR',
  'TASK_LOST',
  'TASK_DROPPED',
  'TASK_GONE',
  'TASK_GONE_BY_OPERATOR',
]);
export const isTerminal = (state: TaskState): boolean => TERMINAL.has(state);

export interface TaskStatus {
  task_id: Id;
  state: TaskState;
  agent_id?: Id;
  source?: 'SOURCE_MASTER' | 'SOURCE_AGENT' | 'SOURCE_EXECUTOR';
  reason?: string;
  message?: string;
  /** Seconds since the epoch, as Mesos sends it. */
  timestamp: number;
  /** Identifies this update for ACKNOWLEDGE; absent on updates that need no acknowledgement. */
  uuid?: string;
  /** berth: the exit code of a task that exited (absent when it was killed by a signal). */
  exit_code?: number;
  /** The health check's verdict, on updates with REASON_TASK_HEALTH_CHECK_STATUS_UPDATED and after. */
  healthy?: boolean;
  /** The readiness check's last result, on updates with REASON_TASK_CHECK_STATUS_UPDATED and after. */
  check_status?: CheckStatusInfo;
}

export interface Offer {
  id: Id;
  framework_id: Id;
  agent_id: Id;
  hostname: string;
  resources: Static<typeof ResourceSchema>[];
  attributes?: Array<{
    name: string;
    type: 'TEXT' | 'SCALAR';
    text?: { value: string };
    scalar?: { value: number };
  }>;
}

export const FrameworkInfo = Type.Object(
  {
    name: Type.String({ minLength: 1 }),
    user: Type.Optional(Type.String()),
    id: Type.Optional(Id),
    roles: Type.Optional(Type.Array(Type.String())),
    role: Type.Optional(Type.String()),
    principal: Type.Optional(Type.String()),
    failover_timeout: Type.Optional(Type.Number({ minimum: 0 })),
    checkpoint: Type.Optional(Type.Boolean()),
    capabilities: Type.Optional(Type.Array(Type.Object({ type: Type.String() }))),
  },
  open,
);
export type FrameworkInfo = Static<typeof FrameworkInfo>;

export interface AgentInfo {
  id?: Id;
  hostname: string;
  /** berth: where the agent's own HTTP API listens (sandbox files, logs); absent for in-process agents. */
  address?: string;
  resources: Static<typeof ResourceSchema>[];
  attributes?: Offer['attributes'];
}

export const labelValue = (labels: Labels | undefined, key: string): string | undefined =>
  labels?.labels.find((l) => l.key === key)?.value;

/** berth: a TaskInfo label asking the agent to remove the sandbox once the task has ended (`run --rm`). */
export const LABEL_REMOVE_SANDBOX = 'berth.io/remove-sandbox';
