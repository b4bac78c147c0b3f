// common: structured logging (pino), one child logger per module.
import { pino, type Logger } from 'pino';
import { settings } from './settings.ts';

let root: Logger | undefined;

export function rootLogger(): Logger {
  if (!root) {
    root = pino({ level: settings.logLevel, base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination(2));
  }
  return root;
}

export function logger(module: string): Logger {
  return rootLogger().child({ module });
}

export type { Logger };
