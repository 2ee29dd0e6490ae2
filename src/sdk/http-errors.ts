import type { Dispatcher } from 'undici';
import { RemoteError } from '../core/errors.js';

/** Turns an error response of any berth API (`{ code, message }`) into a RemoteError with that code. */
export async function readError(res: Dispatcher.ResponseData): Promise<RemoteError> {
  const text = await res.body.text().catch(() => '');
  try {
    const body = JSON.parse(text) as { code?: string; message?: string };
    return new RemoteError(body.code ?? `ERR_HTTP_${res.statusCode}`, body.message ?? text, res.statusCode);
  } catch {
    return new RemoteError(`ERR_HTTP_${res.statusCode}`, text || `HTTP ${res.statusCode}`, res.statusCode);
  }
}
