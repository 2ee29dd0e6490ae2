import type { OutputRecord } from '../api/agent.js';
import type { TaskStatus } from '../api/mesos.js';
import { RemoteError } from '../core/errors.js';
import type { ApiClient } from './client.js';

/** Copies a task's output records to our stdout and stderr. Resolves with the final status, if it came. */
export async function streamOutput(
  client: ApiClient,
  task: string,
  options: { follow: boolean; waitSeconds?: number; signal?: AbortSignal },
): Promise<TaskStatus | undefined> {
  const query = `follow=${options.follow}${options.waitSeconds ? `&wait=${options.waitSeconds}` : ''}`;
  let final: TaskStatus | undefined;
  for await (const record of client.records<OutputRecord | { type: 'ERROR'; error: { message: string } }>(
    `/api/v1/tasks/${encodeURIComponent(task)}/output?${query}`,
    options.signal,
  )) {
    if (record.type === 'OUTPUT')
      await write(
        record.stream === 'stdout' ? process.stdout : process.stderr,
        Buffer.from(record.data, 'base64'),
      );
    else if (record.type === 'EXITED') final = record.status;
    else throw new RemoteError('ERR_OUTPUT_UNAVAILABLE', record.error.message, 502);
  }
  return final;
}

function write(stream: NodeJS.WriteStream, data: Buffer): Promise<void> {
  return new Promise((resolve) => {
    if (stream.write(data)) resolve();
    else stream.once('drain', resolve);
  });
}
