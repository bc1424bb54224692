import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { MonitorDeps, runMonitorOnce } from './monitor';
import type { MonitorResult } from './result';
import { MonitorConfig, parseDuration } from '../config/monitor';

/**
 * Continuous mode (a Deployment): a run every `interval` (the next starts `interval` after the
 * previous one ended, so runs never overlap), and an HTTP server:
 *
 * - `GET /metrics`: Prometheus text exposition of the last run (and run counters);
 * - `GET /healthz`: 200 while the process lives;
 * - `GET /readyz`: 200 once listening, 503 while shutting down;
 * - `GET /report`, `GET /report.json`: the latest HTML report and JSON result.
 *
 * `stop()` (called on SIGTERM) turns readiness off, lets a run in progress finish, and closes
 * the server.
 */
export class MonitorService {
  private server?: http.Server;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopping = false;
  /** Completed runs (success or failure). */
  public runs = 0;
  public lastResult?: MonitorResult;
  public lastError?: Error;

  constructor(private readonly config: MonitorConfig, private readonly deps: MonitorDeps) {}

  /** Starts listening and schedules the first run at once; resolves with the base URL. */
  async start(): Promise<string> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    this.server.requestTimeout = 10_000;
    this.server.headersTimeout = 10_000;
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.config.server.port, this.config.server.host, () => resolve());
    });
    const addr = this.server.address() as AddressInfo;
    this.schedule(0);
    const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    return `http://${host}:${addr.port}`;
  }

  private schedule(delayMs: number): void {
    if (this.stopping) return;
    this.timer = setTimeout(() => {
      this.running = this.runOnce().finally(() => {
        this.running = undefined;
        this.schedule(parseDuration(this.config.interval));
      });
    }, delayMs);
  }

  /** One run; failures are logged and counted, never thrown. */
  async runOnce(): Promise<void> {
    try {
      const { result } = await runMonitorOnce(this.config, this.deps);
      this.lastResult = result;
      this.lastError = undefined;
    } catch (e) {
      this.lastError = e as Error;
      this.deps.logger.error({ err: e }, `monitor run failed: ${(e as Error).message}`);
    } finally {
      this.runs++;
    }
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = (req.url ?? '/').split('?')[0];
    const send = (status: number, type: string, body: string | Buffer) => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'text/plain', 'method not allowed\n');
    try {
      if (url === '/metrics') return send(200, this.deps.metrics.registry.contentType, await this.deps.metrics.text());
      if (url === '/healthz') return send(200, 'text/plain', 'ok\n');
      if (url === '/readyz') return this.stopping ? send(503, 'text/plain', 'shutting down\n') : send(200, 'text/plain', 'ready\n');
      if (url === '/report' || url === '/report.json') {
        const file = path.join(path.resolve(this.config.output.reportDir), url === '/report' ? 'latest.html' : 'latest.json');
        try {
          return send(200, url === '/report' ? 'text/html; charset=utf-8' : 'application/json', await fs.promises.readFile(file));
        } catch {
          return send(404, 'text/plain', 'no report yet\n');
        }
      }
      return send(404, 'text/plain', 'not found\n');
    } catch (e) {
      this.deps.logger.error({ err: e, url }, 'request failed');
      return send(500, 'text/plain', 'internal error\n');
    }
  }

  /** Stops scheduling, waits for a run in progress, closes the server. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.running) await this.running;
    if (this.timer) clearTimeout(this.timer);
    if (this.server) {
      const server = this.server;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
    }
  }
}
