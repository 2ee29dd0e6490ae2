import { pino, destination, type Logger } from 'pino';

export type { Logger };

/**
 * The process logger. Debug details (stack traces included) go here; users see one line per error
 * from the CLI. `BERTH_LOG_LEVEL` sets the level (default `info`; tests use `silent`).
 */
export function createLogger(name: string, level = process.env.BERTH_LOG_LEVEL ?? 'info'): Logger {
  return pino({ name, level, base: undefined }, destination(2));
}

export const silentLogger: Logger = pino({ level: 'silent' });
