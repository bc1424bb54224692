import * as fs from 'node:fs';

/** State of one service or job in the status view. */
export type ServiceState = 'pending' | 'starting' | 'ready' | 'running' | 'done' | 'failed' | 'stopped' | 'skipped' | 'exited';

/** One line of the status view. */
export interface ServiceLine {
  readonly name: string;
  state: ServiceState;
  /** Where it listens. */
  url?: string;
  /** Last event (from its log, or set by `up`). */
  event?: string;
  /** Its log file: the last JSON log line's message is shown as the event while it runs. */
  logFile?: string;
}

/** Where the status view writes, and how. */
export interface StatusOptions {
  readonly stream: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** Redraw a block of lines in place (a terminal) instead of printing one line per change. @default - stream.isTTY */
  readonly live?: boolean;
  /** Print nothing (`--json` with `--quiet`). @default false */
  readonly silent?: boolean;
  /** Refresh period of the live view, in milliseconds. @default 500 */
  readonly refreshMs?: number;
  /** Off a terminal: how often running jobs' progress is looked at, in milliseconds. @default 5000 */
  readonly progressMs?: number;
}

/** The message of the last JSON (pino) line of a log file, or its last plain line. */
export function lastLogEvent(file: string, maxBytes = 8192): string | undefined {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, 'r');
    const size = fs.fstatSync(fd).size;
    const start = Math.max(0, size - maxBytes);
    const buf = Buffer.alloc(size - start);
    fs.readSync(fd, buf, 0, buf.length, start);
    const lines = buf.toString('utf8').split('\n').map((l) => l.trim()).filter(Boolean);
    for (let i = lines.length - 1; i >= 0; i--) {
      const line = lines[i];
      if (!line.startsWith('{')) return line;
      try {
        const j = JSON.parse(line) as { msg?: unknown };
        if (typeof j.msg === 'string' && j.msg) return j.msg;
      } catch {
        return line;
      }
    }
    return undefined;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

const MARK: Record<ServiceState, string> = {
  pending: '.', starting: '~', ready: '+', running: '>', done: '=', failed: '!', stopped: '-', skipped: '/', exited: '!',
};

/**
 * The compact status view of `cdk-mlops up`: one line per service (state, address, last event).
 * On a terminal the block is redrawn in place; elsewhere (CI, a pipe) each change prints one line,
 * so a log stays readable. Messages (`note`) print above the block.
 */
export class StatusView {
  private readonly lines = new Map<string, ServiceLine>();
  private readonly live: boolean;
  private drawn = 0;
  private timer?: NodeJS.Timeout;

  constructor(private readonly o: StatusOptions) {
    this.live = !o.silent && (o.live ?? Boolean(o.stream.isTTY));
    if (this.live) {
      this.timer = setInterval(() => this.redraw(), o.refreshMs ?? 500);
      this.timer.unref();
    } else if (!o.silent) {
      // Off a terminal, long steps still show progress: a line when a running job's last log
      // event changed, at most every `progressMs`.
      this.timer = setInterval(() => this.progress(), o.progressMs ?? 5000);
      this.timer.unref();
    }
  }

  private progress(): void {
    for (const l of this.lines.values()) {
      if (l.state !== 'running' || !l.logFile) continue;
      const e = lastLogEvent(l.logFile);
      if (e && e !== l.event) {
        l.event = e;
        this.o.stream.write(`${this.format(l)}\n`);
      }
    }
  }

  /** Current lines, in insertion order. */
  public get services(): readonly ServiceLine[] {
    return [...this.lines.values()];
  }

  /** Adds or updates a line; prints the change when not live. */
  public set(name: string, update: Partial<Omit<ServiceLine, 'name'>>): void {
    const line = this.lines.get(name) ?? { name, state: 'pending' as ServiceState };
    const before = `${line.state}|${line.url ?? ''}|${line.event ?? ''}`;
    Object.assign(line, update);
    this.lines.set(name, line);
    if (this.o.silent) return;
    if (this.live) {
      this.redraw();
    } else if (`${line.state}|${line.url ?? ''}|${line.event ?? ''}` !== before) {
      this.o.stream.write(`${this.format(line)}\n`);
    }
  }

  /** A message above the status block. */
  public note(text: string): void {
    if (this.o.silent) return;
    this.clear();
    this.o.stream.write(`${text}\n`);
    if (this.live) this.redraw();
  }

  /** Stops refreshing; leaves the last block on screen. */
  public close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.live) {
      this.redraw();
      this.drawn = 0;
    }
  }

  private format(l: ServiceLine): string {
    const width = Math.max(...[...this.lines.keys()].map((k) => k.length), 12);
    const event = l.event ?? '';
    return `${MARK[l.state]} ${l.name.padEnd(width)}  ${l.state.padEnd(8)} ${(l.url ?? '').padEnd(22)} ${event}`.trimEnd();
  }

  private clear(): void {
    if (!this.live || this.drawn === 0) return;
    this.o.stream.write(`\x1b[${this.drawn}F\x1b[J`);
    this.drawn = 0;
  }

  private redraw(): void {
    if (!this.live) return;
    for (const l of this.lines.values()) {
      if ((l.state === 'running' || l.state === 'starting' || l.state === 'ready') && l.logFile) {
        const e = lastLogEvent(l.logFile);
        if (e) l.event = e;
      }
    }
    const cols = this.o.stream.columns || 120;
    const text = [...this.lines.values()].map((l) => this.format(l).slice(0, Math.max(20, cols - 1)));
    this.clear();
    if (text.length) this.o.stream.write(`${text.join('\n')}\n`);
    this.drawn = text.length;
  }
}
