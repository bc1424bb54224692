import pino from 'pino';

/** The runtime's logger options: JSON lines on stdout, level from `LOG_LEVEL` (default info). */
export function createLogger(name: string, level: string = process.env.LOG_LEVEL ?? 'info'): pino.Logger {
  return pino({ name, level, base: { cmd: name }, timestamp: pino.stdTimeFunctions.isoTime });
}

export type Logger = pino.Logger;
