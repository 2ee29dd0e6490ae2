/**
 * The launcher of hollow agents: tasks only pretend to run. Each "runs" for a duration drawn from the
 * distribution (or until killed) and then exits with the configured code. One instance serves every
 * hollow agent of a process (tasks are keyed by their sandbox path, which is unique per agent), so a task
 * costs one small record and, when it has an end, one timer.
 */
import type { TaskInfo } from '../api/mesos.js';
import type { TaskContainerizer } from '../agent/containerizer.js';
import { systemClock, type Clock, type Timer } from '../core/clock.js';
import type { ExitStatus, RecoverResult } from '../runtime/index.js';
import { sampleTaskDuration, type TaskDuration } from './duration.js';

export interface HollowContainerizerOptions {
  duration: TaskDuration;
  /** The exit code of a task that ran its course (default 0: TASK_FINISHED). */
  exitCode?: number;
  clock?: Clock;
  random?: () => number;
}

interface HollowTask {
  exited: Promise<ExitStatus>;
  exit: (status: ExitStatus) => void;
  timer?: Timer;
  done: boolean;
}

export class HollowContainerizer implements TaskContainerizer {
  private readonly tasks = new Map<string, HollowTask>();
  private readonly clock: Clock;
  private launchedCount = 0;

  constructor(private readonly options: HollowContainerizerOptions) {
    this.clock = options.clock ?? systemClock;
  }

  /** Tasks launched and not yet ended. */
  get running(): number {
    let n = 0;
    for (const t of this.tasks.values()) if (!t.done) n++;
    return n;
  }

  get launched(): number {
    return this.launchedCount;
  }

  async launch(_task: TaskInfo, sandbox: string): Promise<void> {
    let exit!: (status: ExitStatus) => void;
    const exited = new Promise<ExitStatus>((resolve) => (exit = resolve));
    const hollow: HollowTask = { exited, exit, done: false };
    hollow.exit = (status) => {
      if (hollow.done) return;
      hollow.done = true;
      if (hollow.timer) this.clock.clearTimeout(hollow.timer);
      exit(status);
    };
    const ms = sampleTaskDuration(this.options.duration, this.options.random);
    if (ms !== undefined)
      hollow.timer = this.clock.setTimeout(
        () =>
          hollow.exit({ exitCode: this.options.exitCode ?? 0, signal: null, finishedAt: this.clock.now() }),
        ms,
      );
    this.tasks.set(sandbox, hollow);
    this.launchedCount++;
  }

  wait(_task: TaskInfo, sandbox: string): Promise<ExitStatus> {
    const hollow = this.tasks.get(sandbox);
    if (!hollow) return Promise.reject(new Error('no such hollow task'));
    return hollow.exited;
  }

  async kill(_task: TaskInfo, sandbox: string, signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
    this.tasks.get(sandbox)?.exit({ exitCode: null, signal, finishedAt: this.clock.now() });
  }

  /** Hollow tasks live in this process only: after a restart they are gone. */
  async recover(_task: TaskInfo, sandbox: string): Promise<RecoverResult> {
    const hollow = this.tasks.get(sandbox);
    return hollow && !hollow.done
      ? { state: 'running', pid: 0 }
      : { state: 'lost', message: 'hollow tasks do not survive their process' };
  }

  async cleanup(_task: TaskInfo, sandbox: string): Promise<void> {
    this.tasks.delete(sandbox);
  }

  async remove(sandbox: string): Promise<void> {
    this.tasks.delete(sandbox);
  }
}
