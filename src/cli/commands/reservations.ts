/**
 * Dynamic reservations and persistent volumes from the command line, over the operator API's
 * RESERVE_RESOURCES, UNRESERVE_RESOURCES, CREATE_VOLUMES and DESTROY_VOLUMES calls (`POST /api/v1`):
 *   berth reserve AGENT 'cpus(db):2;mem(db):1024;disk(db):2048'
 *   berth unreserve AGENT 'cpus(db):2;mem(db):1024'
 *   berth volume create AGENT --role db --id pgdata --size 1024 --path data
 *   berth volume destroy AGENT pgdata [--role db]
 *   berth volume ls
 */
import type { Command } from 'commander';
import type { AgentView } from '../../api/operator.js';
import { InvalidArgumentError } from '../../core/errors.js';
import {
  createVolume,
  formatResources,
  isPersistentVolume,
  parseResources,
  reservedRole,
  scalar,
  type Resource,
} from '../../core/resources.js';
import { clientFor, print, withMaster } from '../context.js';
import { formatTable } from '../table.js';

const DEFAULT_PRINCIPAL = 'operator';

/** `cpus(db):2` in the text form means "reserve to db" here: each role becomes a DYNAMIC reservation. */
export function dynamicReservations(text: string, principal: string): Resource[] {
  const parsed = parseResources(text);
  return parsed.map((r) => {
    const role = reservedRole(r);
    if (role === '*') throw new InvalidArgumentError(`name a role for ${r.name}, e.g. ${r.name}(ROLE):VALUE`);
    return { ...r, role, reservations: [{ type: 'DYNAMIC', role, principal }] };
  });
}

interface OperatorAnswer {
  agent_id: { value: string };
  total: Resource[];
}

async function operatorCall(
  opts: { master?: string },
  type: string,
  field: string,
  agent: string,
  key: 'resources' | 'volumes',
  list: Resource[],
): Promise<void> {
  const body = { type, [field]: { agent_id: { value: agent }, [key]: list } };
  const answer = await clientFor(opts).post<OperatorAnswer>('/api/v1', body);
  print(`${answer.agent_id.value}: ${formatResources(answer.total)}`);
}

async function listAgents(opts: { master?: string }): Promise<AgentView[]> {
  return (await clientFor(opts).get<{ agents: AgentView[] }>('/api/v1/agents')).agents;
}

export function registerReservations(program: Command): void {
  withMaster(program.command('reserve <agent> <resources>'))
    .description("reserve an agent's unreserved resources to a role (dynamic reservation)")
    .option('--principal <name>', 'the principal recorded with the reservation', DEFAULT_PRINCIPAL)
    .addHelpText('after', "\nExample:\n  berth reserve agent-1 'cpus(db):2;mem(db):1024;disk(db):2048'")
    .action(async (agent: string, text: string, opts: { master?: string; principal: string }) => {
      const list = dynamicReservations(text, opts.principal);
      await operatorCall(opts, 'RESERVE_RESOURCES', 'reserve_resources', agent, 'resources', list);
    });

  withMaster(program.command('unreserve <agent> <resources>'))
    .description('give dynamically reserved resources back to the unreserved pool')
    .option('--principal <name>', 'the principal the reservation was made with', DEFAULT_PRINCIPAL)
    .addHelpText('after', "\nExample:\n  berth unreserve agent-1 'cpus(db):2;mem(db):1024'")
    .action(async (agent: string, text: string, opts: { master?: string; principal: string }) => {
      const list = dynamicReservations(text, opts.principal);
      await operatorCall(opts, 'UNRESERVE_RESOURCES', 'unreserve_resources', agent, 'resources', list);
    });

  const volume = program.command('volume').description('persistent volumes on reserved disk');

  withMaster(volume.command('create <agent>'))
    .description("make a persistent volume of a role's reserved disk on an agent")
    .requiredOption('--role <role>', 'the role the disk is reserved to')
    .requiredOption('--id <id>', 'the persistence id (one path segment, unique per role on the agent)')
    .requiredOption('--size <MB>', 'the size in MB (of reserved disk)')
    .requiredOption('--path <container_path>', 'where tasks see it, relative to their root or sandbox')
    .option('--mode <RW|RO>', 'read-write or read-only', 'RW')
    .option('--principal <name>', 'the principal of the reservation and volume', DEFAULT_PRINCIPAL)
    .addHelpText(
      'after',
      '\nExample:\n  berth volume create agent-1 --role db --id pgdata --size 1024 --path data',
    )
    .action(
      async (
        agent: string,
        opts: {
          master?: string;
          role: string;
          id: string;
          size: string;
          path: string;
          mode: string;
          principal: string;
        },
      ) => {
        const size = Number(opts.size);
        if (!(size > 0)) throw new InvalidArgumentError('--size must be a positive number of MB');
        if (opts.mode !== 'RW' && opts.mode !== 'RO')
          throw new InvalidArgumentError('--mode must be RW or RO');
        const disk: Resource = {
          ...scalar('disk', size),
          role: opts.role,
          reservations: [{ type: 'DYNAMIC', role: opts.role, principal: opts.principal }],
        };
        const v = createVolume(disk, {
          id: opts.id,
          containerPath: opts.path,
          mode: opts.mode,
          principal: opts.principal,
        });
        await operatorCall(opts, 'CREATE_VOLUMES', 'create_volumes', agent, 'volumes', [v]);
      },
    );

  withMaster(volume.command('destroy <agent> <id>'))
    .description('destroy a persistent volume and its data (refused while a task uses it)')
    .option('--role <role>', 'the role of the volume, when the id is used by several roles')
    .addHelpText('after', '\nExample:\n  berth volume destroy agent-1 pgdata')
    .action(async (agent: string, id: string, opts: { master?: string; role?: string }) => {
      const agents = await listAgents(opts);
      const found = agents.find((a) => a.id === agent || a.id.endsWith(agent) || a.hostname === agent);
      if (!found) throw new InvalidArgumentError(`agent "${agent}" is not known`);
      const matches = found.resources.filter(
        (r) =>
          isPersistentVolume(r) &&
          r.disk?.persistence?.id === id &&
          (opts.role === undefined || reservedRole(r) === opts.role),
      );
      if (matches.length === 0) throw new InvalidArgumentError(`no volume "${id}" on agent ${found.id}`);
      if (matches.length > 1)
        throw new InvalidArgumentError(`volume "${id}" exists for several roles: pass --role`);
      await operatorCall(opts, 'DESTROY_VOLUMES', 'destroy_volumes', found.id, 'volumes', matches);
    });

  withMaster(volume.command('ls'))
    .description("list the persistent volumes of the cluster's agents")
    .action(async (opts: { master?: string }) => {
      const rows: string[][] = [];
      for (const a of await listAgents(opts))
        for (const r of a.resources.filter(isPersistentVolume))
          rows.push([
            a.id,
            reservedRole(r),
            r.disk?.persistence?.id ?? '',
            `${r.scalar?.value ?? 0} MB`,
            r.disk?.volume?.container_path ?? '',
            r.disk?.volume?.mode ?? '',
          ]);
      print(formatTable(['AGENT', 'ROLE', 'ID', 'SIZE', 'PATH', 'MODE'], rows));
    });
}
