/** Reads task output from an agent's HTTP API, for agents that run as separate processes. */
import type { Readable } from 'node:stream';
import { request } from 'undici';
import type { OutputRecord } from '../api/agent.js';
import { decodeRecords } from '../api/recordio.js';
import { RemoteError } from '../core/errors.js';
import { readError } from '../sdk/http-errors.js';
import type { AgentFiles, AgentRecord } from './types.js';

export function httpAgentFiles(agent: AgentRecord, token?: string): AgentFiles | undefined {
  const address = agent.info.address;
  if (!address) return undefined;
  return {
    async *output(taskId, options) {
      const res = await request(
        `${address}/api/v1/tasks/${encodeURIComponent(taskId)}/output?follow=${options.follow}`,
        {
          headers: token ? { authorization: `Bearer ${token}` } : {},
          signal: options.signal,
          bodyTimeout: 0,
        },
      );
      if (res.statusCode !== 200) throw await readError(res);
      for await (const record of decodeRecords<OutputRecord | { type: 'ERROR'; error: { message: string } }>(
        res.body as Readable,
      )) {
        if (record.type === 'ERROR')
          throw new RemoteError('ERR_OUTPUT_UNAVAILABLE', record.error.message, 502);
        yield record;
      }
    },
  };
}
