/**
 * RecordIO, the framing of Mesos's streaming HTTP APIs: each record is its length in bytes, a newline,
 * and the record itself (here: JSON). `encodeRecord` frames one record; `decodeRecords` turns a byte
 * stream back into records, however the bytes were split into chunks.
 */
export function encodeRecord(record: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(record));
  return Buffer.concat([Buffer.from(`${body.length}\n`), body]);
}

export class RecordIOError extends Error {
  readonly code = 'ERR_BAD_RECORDIO';
}

const MAX_RECORD = 64 * 1024 * 1024;

export async function* decodeRecords<T = unknown>(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<T> {
  let buffer = Buffer.alloc(0);
  for await (const chunk of chunks) {
    buffer = buffer.length === 0 ? Buffer.from(chunk) : Buffer.concat([buffer, chunk]);
    for (;;) {
      const newline = buffer.indexOf(10);
      if (newline < 0) {
        if (buffer.length > 20) throw new RecordIOError('RecordIO length prefix too long');
        break;
      }
      const length = Number(buffer.subarray(0, newline).toString('ascii'));
      if (!Number.isInteger(length) || length < 0 || length > MAX_RECORD) {
        throw new RecordIOError(`bad RecordIO length "${buffer.subarray(0, newline).toString('ascii')}"`);
      }
      if (buffer.length < newline + 1 + length) break;
      const body = buffer.subarray(newline + 1, newline + 1 + length);
      buffer = buffer.subarray(newline + 1 + length);
      yield JSON.parse(body.toString('utf8')) as T;
    }
  }
  if (buffer.length > 0) throw new RecordIOError('stream ended inside a RecordIO record');
}
