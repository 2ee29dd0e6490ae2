/**
 * An example framework, a separate process on berth's public scheduler API, written with the SDK.
 * It launches N tasks across the agents, in several roles, one task per agent per offer round so that
 * they spread; prints every status update; and exits when all tasks have ended.
 *
 *   node dist/examples/spread.js --master http://127.0.0.1:7070 --tasks 6 --roles web,batch --image busybox
 */
import { parseArgs } from 'node:util';
import type { Offer, TaskInfo, TaskStatus } from '../src/api/mesos.js';
import { isTerminal } from '../src/api/mesos.js';
import { scalar, scalarOf } from '../src/core/resources.js';
import { HttpSchedulerTransport, SchedulerClient } from '../src/sdk/index.js';

const { values } = parseArgs({
  options: {
    master: { type: 'string', default: process.env.BERTH_MASTER ?? 'http://127.0.0.1:7070' },
    tasks: { type: 'string', default: '6' },
    roles: { type: 'string', default: '*' },
    image: { type: 'string', default: 'busybox' },
    command: { type: 'string', default: 'echo "hello from $(hostname)"; sleep 1' },
  },
});
const total = Number(values.tasks);
const roles = values.roles!.split(',');
const perTask = { cpus: 0.1, mem: 32 };

let launched = 0;
const states = new Map<string, TaskStatus['state']>();

/** Which task goes on which offer: at most one per agent per round, each in the next role. */
export function planLaunches(offers: Offer[], remaining: number): Array<{ offer: Offer; role: string }> {
  const plan: Array<{ offer: Offer; role: string }> = [];
  for (const offer of offers) {
    if (plan.length >= remaining) break;
    const fits =
      scalarOf(offer.resources, 'cpus') >= perTask.cpus && scalarOf(offer.resources, 'mem') >= perTask.mem;
    if (fits) plan.push({ offer, role: roles[(launched + plan.length) % roles.length]! });
  }
  return plan;
}

function taskFor(offer: Offer, role: string, n: number): TaskInfo {
  return {
    name: `spread-${n}`,
    task_id: { value: `spread-${process.pid}-${n}` },
    agent_id: offer.agent_id,
    resources: [scalar('cpus', perTask.cpus, '*'), scalar('mem', perTask.mem, '*')],
    command: { shell: true, value: values.command! },
    container: { type: 'MESOS', mesos: { image: { type: 'DOCKER', docker: { name: values.image! } } } },
    labels: { labels: [{ key: 'role', value: role }] },
  };
}

const client = new SchedulerClient({
  transport: new HttpSchedulerTransport({
    master: values.master!,
    ...(process.env.BERTH_TOKEN ? { token: process.env.BERTH_TOKEN } : {}),
  }),
  framework: { name: 'spread-example', roles, failover_timeout: 0 },
  reconcileIntervalMs: 0,
  handlers: {
    subscribed: (id) => console.log(`subscribed as ${id} in roles ${roles.join(', ')}`),
    offers: async (offers) => {
      const plan = planLaunches(offers, total - launched);
      const used = new Set(plan.map((p) => p.offer.id.value));
      for (const { offer, role } of plan) {
        const task = taskFor(offer, role, launched++);
        console.log(
          `launching ${task.task_id.value} on ${offer.hostname} (${offer.agent_id.value}) as role ${role}`,
        );
        await client.launch([offer.id.value], [task], 0); // refuse nothing: the rest of the agent comes back at once
      }
      const unused = offers.filter((o) => !used.has(o.id.value)).map((o) => o.id.value);
      if (unused.length > 0) await client.decline(unused, launched < total ? 0.2 : 60);
      if (launched >= total) await client.suppress();
    },
    update: (status) => {
      states.set(status.task_id.value, status.state);
      const exit = status.exit_code !== undefined ? ` exit ${status.exit_code}` : '';
      console.log(
        `${status.task_id.value}: ${status.state}${exit}${status.message ? ` (${status.message})` : ''}`,
      );
      const ended = [...states.values()].filter(isTerminal).length;
      if (launched >= total && ended >= total) {
        console.log(`all ${total} tasks ended`);
        setImmediate(() => {
          client.close();
          process.exit([...states.values()].every((s) => s === 'TASK_FINISHED') ? 0 : 1);
        });
      }
    },
    error: (message) => console.error(`master says: ${message}`),
  },
});

await client.subscribe();
