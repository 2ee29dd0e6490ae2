/**
 * Services: `berth services`, `berth service show ID`, `berth scale ID N`, `berth restart ID`,
 * `berth rollback ID`, `berth delete ID`, `berth deployments` and `berth deployment cancel ID`. Thin: parse, call `/v2/...`, print.
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from '../../core/errors.js';
import { shortId } from '../../core/ids.js';
import { formatAge } from '../../core/units.js';
import type { ServicesClient, StartedDeployment } from '../../frameworks/services/client.js';
import type {
  DeploymentView,
  InstanceView,
  QueueEntry,
  ServiceView,
} from '../../frameworks/services/types.js';
import { exit, print, withMaster } from '../context.js';
import { formatTable, truncate } from '../table.js';
import { describeStarted, followDeployments, normalizeId, servicesClient } from './apply.js';

const stateName = (s: string): string => s.replace(/^TASK_/, '');

/** `healthy`, `unhealthy`, `-` (no verdict yet or no checks), with `not ready` when a readiness check fails. */
export function healthOf(i: InstanceView): string {
  const health = i.healthy === undefined ? '-' : i.healthy ? 'healthy' : 'unhealthy';
  return i.ready === false ? `${health}, not ready` : health;
}

function deploymentCell(d: DeploymentView | undefined, id: string | undefined): string {
  if (!d) return id ? shortId(id) : '-';
  const total = d.steps.length;
  const step = total > 0 ? ` ${Math.min(d.currentStep + 1, total)}/${total}` : '';
  return `${shortId(d.id)} ${d.kind}${step}`;
}

export function formatServices(
  services: ServiceView[],
  deployments: DeploymentView[],
  queue: QueueEntry[],
): string {
  const byId = new Map(deployments.map((d) => [d.id, d]));
  const rows = services.map((s) => [
    s.spec.id,
    String(s.counts.running),
    String(s.counts.healthy),
    String(s.spec.instances),
    shortId(s.version),
    deploymentCell(s.deployment ? byId.get(s.deployment) : undefined, s.deployment),
  ]);
  let out = formatTable(['ID', 'RUNNING', 'HEALTHY', 'WANTED', 'VERSION', 'DEPLOYMENT'], rows);
  const waiting = queue.filter((q) => q.waiting > 0);
  if (waiting.length > 0) {
    out += '\nwaiting to launch:\n';
    for (const q of waiting) out += `  ${q.serviceId}: ${q.waiting} waiting: ${q.reason}\n`;
  }
  return out;
}

export function formatService(
  s: ServiceView,
  deployment: DeploymentView | undefined,
  queue: QueueEntry[],
): string {
  const spec = s.spec;
  const what = spec.image ? `image ${spec.image}` : `command ${spec.command ?? spec.args?.join(' ') ?? ''}`;
  const strategy =
    spec.upgradeStrategy.type === 'rolling'
      ? `rolling (minimumHealthCapacity ${spec.upgradeStrategy.minimumHealthCapacity}, maximumOverCapacity ${spec.upgradeStrategy.maximumOverCapacity})`
      : 'blue/green';
  const lines = [
    `service:     ${spec.id}`,
    `version:     ${s.version}`,
    `runs:        ${truncate(what, 90)}`,
    `instances:   ${s.counts.running} running, ${s.counts.healthy} healthy, ${s.counts.staged} staged, ${s.counts.unhealthy} unhealthy; ${spec.instances} wanted`,
    `resources:   cpus ${spec.resources.cpus}, mem ${spec.resources.mem} MiB, ports ${spec.resources.ports.length}`,
    `upgrades:    ${strategy}`,
  ];
  if (spec.constraints.length > 0) lines.push(`constraints: ${JSON.stringify(spec.constraints)}`);
  if (deployment)
    lines.push(
      `deployment:  ${deployment.id} ${deployment.kind} ${deployment.state}, step ${Math.min(deployment.currentStep + 1, deployment.steps.length)}/${deployment.steps.length}${deployment.steps[deployment.currentStep] ? ` (${deployment.steps[deployment.currentStep]})` : ''}`,
    );
  else if (s.deployment) lines.push(`deployment:  ${s.deployment}`);
  if (s.lastFailure) lines.push(`last failure: ${s.lastFailure}`);
  for (const q of queue.filter((x) => x.serviceId === spec.id && x.waiting > 0))
    lines.push(`waiting:     ${q.waiting} to launch: ${q.reason}`);
  const now = Date.now();
  const rows = s.instances.map((i) => [
    shortId(i.id),
    stateName(i.state),
    healthOf(i),
    i.host ?? '-',
    i.agentId ? shortId(i.agentId) : '-',
    i.ports.length > 0 ? i.ports.join(',') : '-',
    shortId(i.version),
    i.startedAt ? formatAge(now - i.startedAt) : '-',
  ]);
  const table = formatTable(
    ['INSTANCE', 'STATE', 'HEALTH', 'HOST', 'AGENT', 'PORTS', 'VERSION', 'STARTED'],
    rows,
  );
  const messages = s.instances.filter((i) => i.message).map((i) => `  ${shortId(i.id)}: ${i.message}`);
  return `${lines.join('\n')}\n\n${table}${messages.length ? `\n${messages.join('\n')}\n` : ''}`;
}

export function formatDeployments(deployments: DeploymentView[]): string {
  const now = Date.now();
  const rows = deployments.map((d) => {
    const total = d.steps.length;
    const step =
      total > 0 ? `${Math.min(d.currentStep + 1, total)}/${total} ${d.steps[d.currentStep] ?? ''}` : '-';
    return [
      d.id,
      d.serviceId,
      d.kind,
      d.strategy,
      d.state,
      truncate(step.trim(), 30),
      formatAge(now - d.startedAt),
      d.state === 'running' ? `${Math.max(0, Math.round((d.deadline - now) / 1000))}s` : '-',
      truncate(d.message ?? '', 60),
    ];
  });
  return formatTable(
    ['ID', 'SERVICE', 'KIND', 'STRATEGY', 'STATE', 'STEP', 'AGE', 'DEADLINE', 'MESSAGE'],
    rows,
  );
}

interface ChangeOptions {
  master?: string;
  force?: boolean;
  wait?: boolean;
}

/** Prints the deployment a change started and, with --wait, follows it. */
async function report(
  opts: ChangeOptions,
  start: (client: ServicesClient) => Promise<StartedDeployment>,
): Promise<void> {
  const client = await servicesClient(opts);
  const abort = new AbortController();
  // Opened before the change, so that no event of its deployment is missed.
  const events = opts.wait ? await client.events(abort.signal) : undefined;
  try {
    const { deployment } = await start(client);
    print(describeStarted(deployment));
    if (events && !(await followDeployments(client, [deployment], events))) exit.code = 1;
  } finally {
    abort.abort();
  }
}

function parseInstances(raw: string): number {
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(n))
    throw new InvalidArgumentError(`bad instance count "${raw}": use a whole number >= 0`);
  return n;
}

const change = (cmd: Command): Command =>
  withMaster(cmd)
    .option('--force', 'supersede a deployment that is running')
    .option('--wait', 'follow the deployment until it succeeds or fails; the exit code says which');

export function registerServices(program: Command): void {
  withMaster(program.command('services'))
    .description('list services: instances running, healthy and wanted, version and deployment')
    .addHelpText('after', '\nExample:\n  berth services')
    .action(async (opts: { master?: string }) => {
      const client = await servicesClient(opts);
      const [services, deployments, queue] = await Promise.all([
        client.list(),
        client.deployments(),
        client.queue(),
      ]);
      print(formatServices(services, deployments, queue));
    });

  const service = program.command('service').description('inspect one service');
  withMaster(service.command('show'))
    .description("show a service's instances: health, host, agent, ports and version")
    .argument('<id>', 'the service id, e.g. /shop/web')
    .option('--json', 'print the service as JSON')
    .addHelpText('after', '\nExamples:\n  berth service show /web\n  berth service show /shop/web --json')
    .action(async (id: string, opts: { master?: string; json?: boolean }) => {
      const client = await servicesClient(opts);
      const s = await client.get(normalizeId(id));
      if (opts.json) return print(JSON.stringify(s, null, 2));
      const [deployments, queue] = await Promise.all([client.deployments(), client.queue()]);
      print(
        formatService(
          s,
          deployments.find((d) => d.id === s.deployment),
          queue,
        ),
      );
    });

  change(program.command('scale'))
    .description('change the number of instances of a service')
    .argument('<id>', 'the service id')
    .argument('<instances>', 'how many instances')
    .addHelpText('after', '\nExamples:\n  berth scale /web 5\n  berth scale /web 0 --force')
    .action(async (id: string, instances: string, opts: ChangeOptions) => {
      const n = parseInstances(instances);
      await report(opts, (c) => c.scale(normalizeId(id), n, { force: opts.force === true }));
    });

  change(program.command('restart'))
    .description('replace every instance of a service, following its upgrade strategy')
    .argument('<id>', 'the service id')
    .addHelpText('after', '\nExample:\n  berth restart /web --wait')
    .action(async (id: string, opts: ChangeOptions) => {
      await report(opts, (c) => c.restart(normalizeId(id), { force: opts.force === true }));
    });

  withMaster(program.command('rollback'))
    .description('deploy the previous version of a service again')
    .argument('<id>', 'the service id')
    .option('--wait', 'follow the deployment until it succeeds or fails; the exit code says which')
    .addHelpText('after', '\nExample:\n  berth rollback /web --wait')
    .action(async (id: string, opts: ChangeOptions) => {
      await report(opts, (c) => c.rollback(normalizeId(id)));
    });

  change(program.command('delete'))
    .description('stop every instance of a service and remove it')
    .argument('<id>', 'the service id')
    .addHelpText('after', '\nExample:\n  berth delete /web')
    .action(async (id: string, opts: ChangeOptions) => {
      await report(opts, (c) => c.remove(normalizeId(id), { force: opts.force === true }));
    });

  withMaster(program.command('deployments'))
    .description('list the deployments of services')
    .addHelpText('after', '\nExample:\n  berth deployments')
    .action(async (opts: { master?: string }) => {
      const client = await servicesClient(opts);
      print(formatDeployments(await client.deployments()));
    });

  const deployment = program.command('deployment').description('act on one deployment of a service');
  withMaster(deployment.command('cancel'))
    .description(
      'cancel a running deployment: roll the service back to where it was (--force: just stop here)',
    )
    .argument('<id>', 'the deployment id, from `berth deployments`')
    .option('--force', 'stop the deployment where it is, without a rollback')
    .option('--wait', 'follow the rollback until it succeeds or fails; the exit code says which')
    .addHelpText(
      'after',
      '\nExamples:\n  berth deployment cancel dep12 --wait\n  berth deployment cancel dep12 --force',
    )
    .action(async (id: string, opts: ChangeOptions) => {
      const client = await servicesClient(opts);
      const abort = new AbortController();
      const events = opts.wait && !opts.force ? await client.events(abort.signal) : undefined;
      try {
        const { deployment: rollback } = await client.cancelDeployment(id, { force: opts.force === true });
        if (!rollback) return print(`deployment ${id} stopped where it was`);
        print(`deployment ${id} cancelled; ${describeStarted(rollback)}`);
        if (events && !(await followDeployments(client, [rollback], events))) exit.code = 1;
      } finally {
        abort.abort();
      }
    });
}
