import { InvalidArgumentError } from '../../core/errors.js';

export function parsePort(text: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new InvalidArgumentError(`bad port "${text}": use a number from 0 to 65535`);
  return port;
}

/** Resolves on the first SIGINT or SIGTERM: the foreground servers stop cleanly then. */
export function waitForSignal(): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.on('SIGINT', done);
    process.on('SIGTERM', done);
  });
}
