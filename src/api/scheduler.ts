/**
 * The scheduler API: `POST /api/v1/scheduler`, Mesos v1 semantics in JSON. SUBSCRIBE answers with a
 * RecordIO stream of events and a `Mesos-Stream-Id` header; every later call carries that header and
 * gets `202 Accepted`. See docs/scheduler-api.md.
 */
import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { FrameworkInfo, Id, ResourceSchema, TaskInfo, type Offer, type TaskStatus } from './mesos.js';

const Filters = Type.Object({ refuse_seconds: Type.Optional(Type.Number({ minimum: 0 })) });

const Operation = Type.Object(
  {
    type: Type.Union([
      Type.Literal('LAUNCH'),
      Type.Literal('LAUNCH_GROUP'),
      Type.Literal('RESERVE'),
      Type.Literal('UNRESERVE'),
      Type.Literal('CREATE'),
      Type.Literal('DESTROY'),
    ]),
    launch: Type.Optional(Type.Object({ task_infos: Type.Array(TaskInfo) })),
    launch_group: Type.Optional(
      Type.Object(
        { task_group: Type.Object({ tasks: Type.Array(TaskInfo) }) },
        { additionalProperties: true },
      ),
    ),
    reserve: Type.Optional(Type.Object({ resources: Type.Array(ResourceSchema) })),
    unreserve: Type.Optional(Type.Object({ resources: Type.Array(ResourceSchema) })),
    create: Type.Optional(Type.Object({ volumes: Type.Array(ResourceSchema) })),
    destroy: Type.Optional(Type.Object({ volumes: Type.Array(ResourceSchema) })),
  },
  { additionalProperties: true },
);
export type Operation = Static<typeof Operation>;

export const SchedulerCall = Type.Object(
  {
    framework_id: Type.Optional(Id),
    type: Type.Union([
      Type.Literal('SUBSCRIBE'),
      Type.Literal('TEARDOWN'),
      Type.Literal('ACCEPT'),
      Type.Literal('DECLINE'),
      Type.Literal('REVIVE'),
      Type.Literal('SUPPRESS'),
      Type.Literal('KILL'),
      Type.Literal('SHUTDOWN'),
      Type.Literal('ACKNOWLEDGE'),
      Type.Literal('RECONCILE'),
      Type.Literal('MESSAGE'),
    ]),
    subscribe: Type.Optional(Type.Object({ framework_info: FrameworkInfo })),
    accept: Type.Optional(
      Type.Object({
        offer_ids: Type.Array(Id),
        operations: Type.Array(Operation),
        filters: Type.Optional(Filters),
      }),
    ),
    decline: Type.Optional(Type.Object({ offer_ids: Type.Array(Id), filters: Type.Optional(Filters) })),
    revive: Type.Optional(Type.Object({ roles: Type.Optional(Type.Array(Type.String())) })),
    suppress: Type.Optional(Type.Object({ roles: Type.Optional(Type.Array(Type.String())) })),
    kill: Type.Optional(Type.Object({ task_id: Id, agent_id: Type.Optional(Id) })),
    acknowledge: Type.Optional(Type.Object({ agent_id: Id, task_id: Id, uuid: Type.String() })),
    reconcile: Type.Optional(
      Type.Object({ tasks: Type.Array(Type.Object({ task_id: Id, agent_id: Type.Optional(Id) })) }),
    ),
    message: Type.Optional(Type.Object({ agent_id: Id, executor_id: Id, data: Type.String() })),
    shutdown: Type.Optional(Type.Object({ executor_id: Id, agent_id: Type.Optional(Id) })),
  },
  { additionalProperties: true },
);
export type SchedulerCall = Static<typeof SchedulerCall>;

export const schedulerCallValidator = TypeCompiler.Compile(SchedulerCall);

export type SchedulerEvent =
  | { type: 'SUBSCRIBED'; subscribed: { framework_id: Id; heartbeat_interval_seconds: number } }
  | { type: 'OFFERS'; offers: { offers: Offer[] } }
  | { type: 'RESCIND'; rescind: { offer_id: Id } }
  | { type: 'UPDATE'; update: { status: TaskStatus } }
  | { type: 'MESSAGE'; message: { agent_id: Id; executor_id: Id; data: string } }
  | { type: 'FAILURE'; failure: { agent_id?: Id; status?: number } }
  | { type: 'ERROR'; error: { message: string } }
  | { type: 'HEARTBEAT' };

/** The first problem of a call that fails validation, as one line. */
export function firstSchemaError(
  validator: typeof schedulerCallValidator,
  value: unknown,
): string | undefined {
  const first = validator.Errors(value).First();
  return first ? `${first.path || '/'}: ${first.message}` : undefined;
}
