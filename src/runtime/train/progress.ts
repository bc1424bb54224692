import { createLogger, Logger } from '../log';

/**
 * How a training run reports what it does: on a terminal, readable lines and a live progress
 * bar on stderr and a summary on stdout; otherwise (a Job, CI, a pipe) JSON log lines (pino) on
 * stdout, progress throttled to every 10% or 5 seconds per stage.
 */
export interface Reporter {
  /** A stage of the run started or finished. */
  step(message: string, fields?: Readonly<Record<string, unknown>>): void;
  /** Progress within a stage, `fraction` in [0, 1]. */
  progress(stage: string, fraction: number, message?: string): void;
  warn(message: string, fields?: Readonly<Record<string, unknown>>): void;
  /** The run's outcome: `text` for people, `fields` for logs. */
  result(text: string, fields: Readonly<Record<string, unknown>>): void;
}

/** Picks a reporter: `auto` means `tty` when stderr is a terminal, else `json`. */
export function createReporter(mode: 'auto' | 'tty' | 'json' = 'auto', streams: { out: NodeJS.WritableStream; err: NodeJS.WritableStream & { isTTY?: boolean } } = { out: process.stdout, err: process.stderr }): Reporter {
  const tty = mode === 'tty' || (mode === 'auto' && streams.err.isTTY === true);
  return tty ? new TtyReporter(streams.out, streams.err) : new JsonReporter(createLogger('train'));
}

/** JSON lines through the runtime's logger. */
export class JsonReporter implements Reporter {
  private readonly last = new Map<string, { fraction: number; at: number }>();
  constructor(private readonly log: Logger, private readonly now: () => number = Date.now) {}
  step(message: string, fields: Readonly<Record<string, unknown>> = {}): void {
    this.log.info(fields, message);
  }
  progress(stage: string, fraction: number, message?: string): void {
    const prev = this.last.get(stage);
    const t = this.now();
    if (prev && fraction < 1 && fraction - prev.fraction < 0.1 - 1e-9 && t - prev.at < 5000) return;
    this.last.set(stage, { fraction, at: t });
    this.log.info({ stage, progress: Math.round(fraction * 1000) / 1000, ...(message ? { detail: message } : {}) }, `${stage} ${Math.round(fraction * 100)}%`);
  }
  warn(message: string, fields: Readonly<Record<string, unknown>> = {}): void {
    this.log.warn(fields, message);
  }
  result(_text: string, fields: Readonly<Record<string, unknown>>): void {
    this.log.info(fields, 'train finished');
  }
}

/** Lines and a progress bar for a person at a terminal. */
export class TtyReporter implements Reporter {
  private barShown = false;
  private lastDraw = 0;
  private readonly started = Date.now();
  constructor(private readonly out: NodeJS.WritableStream, private readonly err: NodeJS.WritableStream) {}
  step(message: string, fields: Readonly<Record<string, unknown>> = {}): void {
    this.clearBar();
    const extras = Object.entries(fields).filter(([, v]) => v !== undefined && typeof v !== 'object').map(([k, v]) => `${k}=${v}`).join(' ');
    this.err.write(`[${this.elapsed()}] ${message}${extras ? `  (${extras})` : ''}\n`);
  }
  progress(stage: string, fraction: number, message?: string): void {
    const t = Date.now();
    if (fraction < 1 && t - this.lastDraw < 100) return;
    this.lastDraw = t;
    const width = 24;
    const filled = Math.round(Math.max(0, Math.min(1, fraction)) * width);
    this.err.write(`\r\x1b[2K  ${stage} [${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${String(Math.round(fraction * 100)).padStart(3)}%${message ? ` ${message}` : ''}`);
    this.barShown = true;
    if (fraction >= 1) this.clearBar();
  }
  warn(message: string): void {
    this.clearBar();
    this.err.write(`[${this.elapsed()}] warning: ${message}\n`);
  }
  result(text: string): void {
    this.clearBar();
    this.out.write(text.endsWith('\n') ? text : `${text}\n`);
  }
  private clearBar(): void {
    if (this.barShown) this.err.write('\r\x1b[2K');
    this.barShown = false;
  }
  private elapsed(): string {
    return `${((Date.now() - this.started) / 1000).toFixed(1)}s`;
  }
}

/** A reporter that says nothing (library use, tests). */
export const silentReporter: Reporter = {
  step: () => undefined,
  progress: () => undefined,
  warn: () => undefined,
  result: () => undefined,
};
