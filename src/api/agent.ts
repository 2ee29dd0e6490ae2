/**
 * The agent protocol: agent-initiated, so agents work behind NAT. The agent SUBSCRIBEs to the master
 * (`POST /api/v1/agent`) and receives a RecordIO stream of events; it posts UPDATE and HEARTBEAT calls
 * with the `Berth-Agent-Stream-Id` header it got. Re-subscribing reports the tasks it still runs.
 */
import type { AgentInfo, FrameworkInfo, Id, TaskInfo, TaskStatus } from './mesos.js';
import type { Resource } from '../core/resources.js';

export interface AgentTaskReport {
  framework_id: Id;
  task: TaskInfo;
  /** The latest status the agent knows, acknowledged or not. */
  status: TaskStatus;
}

/**
 * A task the master already knows (it recorded the task before its LAUNCH): the agent reports its latest
 * status only, not its TaskInfo, which makes a re-subscription after a master restart several times
 * smaller. An agent sends these only to a master that said it takes them (`compact_reports` in
 * SUBSCRIBED); a master that does not know one of the tasks refuses the SUBSCRIBE with ERR_CONFLICT, and
 * the agent subscribes again with every task in full.
 */
export interface AgentTaskState {
  framework_id: Id;
  status: TaskStatus;
}

export type AgentCall =
  | {
      type: 'SUBSCRIBE';
      subscribe: {
        agent_info: AgentInfo;
        tasks: AgentTaskReport[];
        /** Tasks the master knows, by status only (see AgentTaskState); absent from older agents. */
        known_tasks?: AgentTaskState[];
        /** Dynamic reservations and volumes the agent checkpointed; when given, they win for its total. */
        checkpointed_resources?: Resource[];
      };
    }
  | { type: 'UPDATE'; agent_id: Id; update: { framework_id: Id; status: TaskStatus } }
  | { type: 'HEARTBEAT'; agent_id: Id };

export type AgentEvent =
  | {
      type: 'SUBSCRIBED';
      subscribed: {
        agent_id: Id;
        heartbeat_interval_seconds: number;
        /** This master takes `known_tasks` in a later SUBSCRIBE (older masters do not say so). */
        compact_reports?: boolean;
      };
    }
  | { type: 'LAUNCH'; launch: { framework_id: Id; framework_info: FrameworkInfo; task: TaskInfo } }
  | { type: 'KILL'; kill: { framework_id: Id; task_id: Id; grace_period_seconds?: number } }
  | { type: 'ACKNOWLEDGED'; acknowledged: { task_id: Id; uuid: string } }
  | { type: 'SHUTDOWN_FRAMEWORK'; shutdown_framework: { framework_id: Id } }
  /** The agent's reservations and volumes changed (RESERVE, CREATE …): checkpoint these (Mesos's CheckpointResources). */
  | { type: 'CHECKPOINT_RESOURCES'; checkpoint_resources: { resources: Resource[] } }
  | { type: 'PING' };

/** A record of `GET /api/v1/tasks/{id}/output`: a piece of output, or the end of the task. */
export type OutputRecord =
  | { type: 'OUTPUT'; stream: 'stdout' | 'stderr'; data: string /* base64 */ }
  | { type: 'EXITED'; status: TaskStatus };
