/**
 * The operator calls on `POST /api/v1` (Mesos's operator API shape, JSON) that change an agent's
 * reservations and volumes: RESERVE_RESOURCES, UNRESERVE_RESOURCES, CREATE_VOLUMES, DESTROY_VOLUMES.
 * They apply to the agent's unallocated resources; the answer is the agent's new total.
 */
import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { InvalidArgumentError } from '../core/errors.js';
import type { Resource } from '../core/resources.js';
import { Id, ResourceSchema } from './mesos.js';

const WithResources = Type.Object({ agent_id: Id, resources: Type.Array(ResourceSchema, { minItems: 1 }) });
const WithVolumes = Type.Object({ agent_id: Id, volumes: Type.Array(ResourceSchema, { minItems: 1 }) });

export const OperatorCall = Type.Object(
  {
    type: Type.Union([
      Type.Literal('RESERVE_RESOURCES'),
      Type.Literal('UNRESERVE_RESOURCES'),
      Type.Literal('CREATE_VOLUMES'),
      Type.Literal('DESTROY_VOLUMES'),
    ]),
    reserve_resources: Type.Optional(WithResources),
    unreserve_resources: Type.Optional(WithResources),
    create_volumes: Type.Optional(WithVolumes),
    destroy_volumes: Type.Optional(WithVolumes),
  },
  { additionalProperties: true },
);
export type OperatorCall = Static<typeof OperatorCall>;

const validator = TypeCompiler.Compile(OperatorCall);

/** The agent and the offer operation an operator call stands for; bad input throws one clear line. */
export function parseOperatorCall(body: unknown): {
  agentId: string;
  op: { type: string; [field: string]: unknown };
} {
  const first = validator.Errors(body).First();
  if (first) throw new InvalidArgumentError(`${first.path || '/'}: ${first.message}`);
  const call = body as OperatorCall;
  const field = call.type.toLowerCase() as
    'reserve_resources' | 'unreserve_resources' | 'create_volumes' | 'destroy_volumes';
  const args = call[field];
  if (!args) throw new InvalidArgumentError(`${call.type} needs the field ${field}`);
  const agentId = args.agent_id.value;
  const list = ('resources' in args ? args.resources : args.volumes) as Resource[];
  switch (call.type) {
    case 'RESERVE_RESOURCES':
      return { agentId, op: { type: 'RESERVE', reserve: { resources: list } } };
    case 'UNRESERVE_RESOURCES':
      return { agentId, op: { type: 'UNRESERVE', unreserve: { resources: list } } };
    case 'CREATE_VOLUMES':
      return { agentId, op: { type: 'CREATE', create: { volumes: list } } };
    case 'DESTROY_VOLUMES':
      return { agentId, op: { type: 'DESTROY', destroy: { volumes: list } } };
  }
}
