/** The operator API's views: what `GET /api/v1/agents`, `/tasks` and `/state` return. */
import type { Resource } from '../core/resources.js';
import type { AgentInfo, TaskState } from './mesos.js';

export interface AgentView {
  id: string;
  hostname: string;
  address: string | null;
  state: 'ACTIVE' | 'DISCONNECTED' | 'UNREACHABLE';
  /** Maintenance: a draining agent gets no new tasks; its tasks are killed after the grace period. */
  drain: 'DRAINING' | 'DRAINED' | null;
  resources: Resource[];
  used: Resource[];
  /** Text and scalar attributes, as Mesos's list. */
  attributes?: AgentInfo['attributes'];
  registered_at: number;
}

export interface TaskView {
  id: string;
  name: string;
  framework_id: string;
  agent_id: string;
  image: string | null;
  command: string[];
  state: TaskState;
  exit_code: number | null;
  message: string | null;
  created_at: number;
  updated_at: number;
}

export interface FrameworkView {
  id: string;
  name: string;
  roles: string[];
  active: boolean;
  registered_at: number;
}

export interface RoleView {
  name: string;
  weight: number;
  quota: { guarantees: Resource[]; limits: Resource[] };
  /** Resources its frameworks hold: tasks and outstanding offers. */
  allocated: Resource[];
  frameworks: string[];
}
