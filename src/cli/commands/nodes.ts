import type { Command } from 'commander';
import type { AgentView } from '../../api/operator.js';
import { scalarOf } from '../../core/resources.js';
import { clientFor, print, withMaster } from '../context.js';
import { formatTable } from '../table.js';

export function registerNodes(program: Command): void {
  withMaster(program.command('nodes'))
    .description('list the agents of the cluster')
    .addHelpText('after', '\nExample:\n  berth nodes')
    .action(async (opts: { master?: string }) => {
      const { agents } = await clientFor(opts).get<{ agents: AgentView[] }>('/api/v1/agents');
      const rows = agents.map((a) => [
        a.id,
        a.hostname,
        a.address ?? 'in-process',
        `${scalarOf(a.used, 'cpus')}/${scalarOf(a.resources, 'cpus')}`,
        `${Math.round(scalarOf(a.used, 'mem'))}/${Math.round(scalarOf(a.resources, 'mem'))} MiB`,
        `${Math.round(scalarOf(a.resources, 'disk') / 1024)} GiB`,
        a.drain ? `${a.state} (${a.drain})` : a.state,
      ]);
      print(formatTable(['ID', 'HOSTNAME', 'ADDRESS', 'CPUS', 'MEM', 'DISK', 'STATE'], rows));
    });
}
