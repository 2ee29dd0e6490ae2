/**
 * The probes of health and readiness checks: one HTTP GET, TCP connect or command each, bounded by the
 * check's timeout. Tasks use host networking, so HTTP and TCP go to 127.0.0.1 on the task's host port.
 */
import { request } from 'node:http';
import { connect } from 'node:net';
import type { CheckStatusInfo, CommandInfo } from '../../api/mesos.js';
import { errnoCode } from '../../core/fs.js';
import type { ExecStatus } from '../../runtime/index.js';
import type { ProbeResult } from './decide.js';

export const CHECK_HOST = '127.0.0.1';

/** Runs a check's command beside the task; supplied by the containerizer. */
export type CheckExec = (command: CommandInfo, timeoutMs: number) => Promise<ExecStatus>;

const seconds = (ms: number): string => `${Math.round(ms / 100) / 10}s`;

function describeNetError(err: unknown): string {
  switch (errnoCode(err)) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ECONNRESET':
      return 'connection reset';
    case 'EHOSTUNREACH':
      return 'host unreachable';
    default:
      return err instanceof Error ? err.message : String(err);
  }
}

/** Healthy on 200–399, or on one of `statuses` when given. */
export function isHealthyStatus(code: number, statuses?: readonly number[]): boolean {
  return statuses && statuses.length > 0 ? statuses.includes(code) : code >= 200 && code <= 399;
}

export function probeHttp(
  port: number,
  path: string | undefined,
  timeoutMs: number,
  statuses?: readonly number[],
): Promise<ProbeResult> {
  const target = path ? (path.startsWith('/') ? path : `/${path}`) : '/';
  const what = `HTTP GET :${port}${target}`;
  return new Promise((resolve) => {
    let settled = false;
    const done = (ok: boolean, outcome: string, status: CheckStatusInfo): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve({ ok, detail: `${what}: ${outcome}`, status });
    };
    const req = request(
      {
        host: CHECK_HOST,
        port,
        path: target,
        method: 'GET',
        agent: false,
        headers: { 'user-agent': 'berth-agent' },
      },
      (res) => {
        res.resume();
        const code = res.statusCode ?? 0;
        done(isHealthyStatus(code, statuses), `status ${code}`, {
          type: 'HTTP',
          http: { status_code: code },
        });
      },
    );
    const timer = setTimeout(
      () => done(false, `timed out after ${seconds(timeoutMs)}`, { type: 'HTTP', http: {} }),
      timeoutMs,
    );
    req.on('error', (err) => done(false, describeNetError(err), { type: 'HTTP', http: {} }));
    req.end();
  });
}

export function probeTcp(port: number, timeoutMs: number): Promise<ProbeResult> {
  const what = `TCP connect :${port}`;
  return new Promise((resolve) => {
    let settled = false;
    const done = (ok: boolean, outcome: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ ok, detail: `${what}: ${outcome}`, status: { type: 'TCP', tcp: { succeeded: ok } } });
    };
    const socket = connect({ host: CHECK_HOST, port });
    const timer = setTimeout(() => done(false, `timed out after ${seconds(timeoutMs)}`), timeoutMs);
    socket.once('connect', () => done(true, 'connected'));
    socket.once('error', (err) => done(false, describeNetError(err)));
  });
}

/** A one-line name for a command, for messages. */
export function describeCommand(command: CommandInfo): string {
  const text =
    command.shell !== false && command.value !== undefined
      ? command.value
      : (command.arguments ?? []).join(' ');
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

export async function probeCommand(
  exec: CheckExec | undefined,
  command: CommandInfo,
  timeoutMs: number,
): Promise<ProbeResult> {
  const what = `command "${describeCommand(command)}"`;
  if (!exec) {
    return {
      ok: false,
      detail: `${what}: this agent cannot run commands`,
      status: { type: 'COMMAND', command: {} },
    };
  }
  let result: ExecStatus;
  try {
    result = await exec(command, timeoutMs);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return { ok: false, detail: `${what}: ${message}`, status: { type: 'COMMAND', command: {} } };
  }
  if (result.timedOut) {
    return {
      ok: false,
      detail: `${what}: timed out after ${seconds(timeoutMs)}`,
      status: { type: 'COMMAND', command: {} },
    };
  }
  const code = result.exitCode ?? 128;
  const outcome =
    result.exitCode === null ? `killed by ${result.signal ?? 'a signal'}` : `exited with status ${code}`;
  const firstLine = result.output.split('\n')[0]?.trim();
  return {
    ok: result.exitCode === 0,
    detail: `${what}: ${outcome}${code !== 0 && firstLine ? ` (${firstLine})` : ''}`,
    status: { type: 'COMMAND', command: { exit_code: code } },
  };
}
