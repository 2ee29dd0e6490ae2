import { readFileSync } from 'node:fs';

/**
 * The last error in a runc log written with `--log-format json` (one `{"level","msg","time"}` object per
 * line), as one line. Undefined when the log holds no error.
 */
export function computeLastRuncError(logText: string): string | undefined {
  let last: string | undefined;
  for (const line of logText.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const entry = JSON.parse(line) as { level?: unknown; msg?: unknown };
      if ((entry.level === 'error' || entry.level === 'fatal') && typeof entry.msg === 'string')
        last = entry.msg;
    } catch {
      // not JSON: runc init may print plain text before its logger is set up
    }
  }
  return last?.replace(/\s+/g, ' ').trim();
}

export function readLastRuncError(file: string): string | undefined {
  try {
    return computeLastRuncError(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}
