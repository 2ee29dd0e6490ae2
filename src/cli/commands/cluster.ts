/** Operator commands: frameworks, roles, offers, quota, weights and draining nodes. */
import type { Command } from 'commander';
import type { FrameworkView, RoleView } from '../../api/operator.js';
import type { Offer } from '../../api/mesos.js';
import { InvalidArgumentError } from '../../core/errors.js';
import { shortId } from '../../core/ids.js';
import { formatResources, parseResources, scalarOf, type Resource } from '../../core/resources.js';
import { formatAge } from '../../core/units.js';
import { clientFor, print, withMaster } from '../context.js';
import { formatTable } from '../table.js';

const brief = (r: readonly Resource[]): string =>
  `cpus ${scalarOf(r, 'cpus')}, mem ${Math.round(scalarOf(r, 'mem'))} MiB`;

function parseSpec(spec: string): Resource[] {
  try {
    return parseResources(spec);
  } catch (err) {
    throw new InvalidArgumentError(`bad resources "${spec}": ${(err as Error).message}`);
  }
}

export function registerClusterCommands(program: Command): void {
  withMaster(program.command('frameworks'))
    .description('list the frameworks subscribed to the master')
    .addHelpText('after', '\nExample:\n  berth frameworks')
    .action(async (opts: { master?: string }) => {
      const { frameworks } = await clientFor(opts).get<{ frameworks: FrameworkView[] }>('/api/v1/frameworks');
      const now = Date.now();
      const rows = frameworks.map((f) => [
        f.id,
        f.name,
        f.roles.join(','),
        f.active ? 'ACTIVE' : 'DISCONNECTED',
        formatAge(now - f.registered_at),
      ]);
      print(formatTable(['ID', 'NAME', 'ROLES', 'STATE', 'REGISTERED'], rows));
    });

  withMaster(program.command('roles'))
    .description('list roles with their weight, quota and what they hold')
    .addHelpText('after', '\nExample:\n  berth roles')
    .action(async (opts: { master?: string }) => {
      const { roles } = await clientFor(opts).get<{ roles: RoleView[] }>('/api/v1/roles');
      const rows = roles.map((r) => [
        r.name,
        String(r.weight),
        r.quota.guarantees.length ? formatResources(r.quota.guarantees) : '-',
        r.quota.limits.length ? formatResources(r.quota.limits) : '-',
        brief(r.allocated),
        String(r.frameworks.length),
      ]);
      print(formatTable(['ROLE', 'WEIGHT', 'GUARANTEE', 'LIMIT', 'ALLOCATED', 'FRAMEWORKS'], rows));
    });

  withMaster(program.command('offers'))
    .description('list outstanding offers')
    .addHelpText('after', '\nExample:\n  berth offers')
    .action(async (opts: { master?: string }) => {
      const { offers } = await clientFor(opts).get<{ offers: Offer[] }>('/api/v1/offers');
      const rows = offers.map((o) => [
        shortId(o.id.value),
        shortId(o.framework_id.value),
        o.hostname,
        shortId(o.agent_id.value),
        formatResources(o.resources as Resource[]),
      ]);
      print(formatTable(['OFFER', 'FRAMEWORK', 'HOSTNAME', 'AGENT', 'RESOURCES'], rows));
    });

  const quota = program.command('quota').description('manage role quotas');
  withMaster(quota.command('set'))
    .description("set a role's quota: a guarantee, and optionally a limit")
    .argument('<role>', 'the role')
    .argument('<guarantee>', 'resources guaranteed, e.g. "cpus:10;mem:20480"')
    .option('--limit <spec>', 'resources the role may never exceed, e.g. "cpus:20;mem:40960"')
    .addHelpText(
      'after',
      '\nExamples:\n  berth quota set services "cpus:10;mem:20480"\n  berth quota set batch "cpus:2;mem:2048" --limit "cpus:8;mem:8192"',
    )
    .action(async (role: string, guarantee: string, opts: { master?: string; limit?: string }) => {
      const body = {
        role,
        guarantees: parseSpec(guarantee),
        limits: opts.limit ? parseSpec(opts.limit) : [],
      };
      await clientFor(opts).post('/api/v1/quota', body);
      print(`quota of ${role}: guarantee ${guarantee}${opts.limit ? `, limit ${opts.limit}` : ''}`);
    });
  withMaster(quota.command('remove'))
    .description("remove a role's quota")
    .argument('<role>', 'the role')
    .addHelpText('after', '\nExample:\n  berth quota remove batch')
    .action(async (role: string, opts: { master?: string }) => {
      await clientFor(opts).post('/api/v1/quota', { role, guarantees: [], limits: [] });
      print(`quota of ${role} removed`);
    });

  const weight = program.command('weight').description('manage role weights');
  withMaster(weight.command('set'))
    .description("set a role's weight in the fair share (default 1)")
    .argument('<role>', 'the role')
    .argument('<weight>', 'a positive number')
    .addHelpText('after', '\nExample:\n  berth weight set services 3')
    .action(async (role: string, value: string, opts: { master?: string }) => {
      const w = Number(value);
      if (!(w > 0) || !Number.isFinite(w))
        throw new InvalidArgumentError(`bad weight "${value}": use a positive number`);
      await clientFor(opts).post('/api/v1/weights', { role, weight: w });
      print(`weight of ${role}: ${w}`);
    });

  const node = program.command('node').description('manage agents');
  withMaster(node.command('drain'))
    .description('drain an agent: no new tasks go there, and its tasks are killed after the grace period')
    .argument('<agent>', 'agent id (or its last characters)')
    .option('--grace <seconds>', 'how long tasks get to end by themselves', '60')
    .addHelpText(
      'after',
      '\nExamples:\n  berth node drain 7dk2hs9x1q\n  berth node drain 7dk2hs9x1q --grace 0',
    )
    .action(async (agent: string, opts: { master?: string; grace: string }) => {
      const grace = Number(opts.grace);
      if (!(grace >= 0)) throw new InvalidArgumentError(`bad grace period "${opts.grace}": use seconds`);
      const { id } = await clientFor(opts).post<{ id: string }>(
        `/api/v1/agents/${encodeURIComponent(agent)}/drain`,
        { grace_seconds: grace },
      );
      print(`draining ${id}`);
    });
  withMaster(node.command('reactivate'))
    .description('take an agent out of draining: it gets offers again')
    .argument('<agent>', 'agent id (or its last characters)')
    .addHelpText('after', '\nExample:\n  berth node reactivate 7dk2hs9x1q')
    .action(async (agent: string, opts: { master?: string }) => {
      const { id } = await clientFor(opts).post<{ id: string }>(
        `/api/v1/agents/${encodeURIComponent(agent)}/reactivate`,
      );
      print(`reactivated ${id}`);
    });
}
