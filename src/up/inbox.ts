import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';

/** One message the inbox received. */
export interface InboxMessage {
  /** Where it was written. */
  readonly file: string;
  readonly receivedAt: string;
  /** The JSON body (a Slack-compatible `{text, blocks}` message from the monitor). */
  readonly body: unknown;
}

/**
 * The local alert inbox: the webhook the monitors post to under `cdk-mlops up`. It accepts JSON
 * bodies on `POST /` (at most 1 MiB), writes each to `<dir>/alert-<n>.json` and answers 200; a
 * body that is not JSON gets 400. Listens on 127.0.0.1 only.
 */
export class AlertInbox {
  private server?: http.Server;
  private count = 0;
  private readonly received: InboxMessage[] = [];

  constructor(private readonly dir: string) {}

  /** Messages received so far, in order. */
  public get messages(): readonly InboxMessage[] {
    return this.received;
  }

  /** Starts listening; returns the webhook URL. */
  public async start(): Promise<string> {
    fs.mkdirSync(this.dir, { recursive: true });
    const server = http.createServer((req, res) => this.handle(req, res));
    server.requestTimeout = 10_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    this.server = server;
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  }

  /** Stops listening (idempotent). */
  public async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (req.method !== 'POST') {
      res.writeHead(405, { 'content-type': 'text/plain', 'allow': 'POST' }).end('POST a JSON alert message\n');
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > 1_048_576 && !refused) {
        refused = true;
        res.writeHead(413, { 'content-type': 'text/plain' }).end('body larger than 1 MiB\n');
        req.destroy();
      }
      if (!refused) chunks.push(c);
    });
    req.on('end', () => {
      if (refused) return;
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch (e) {
        res.writeHead(400, { 'content-type': 'text/plain' }).end(`body is not JSON: ${(e as Error).message}\n`);
        return;
      }
      this.count += 1;
      const file = path.join(this.dir, `alert-${String(this.count).padStart(3, '0')}.json`);
      const message: InboxMessage = { file, receivedAt: new Date().toISOString(), body };
      fs.writeFileSync(file, `${JSON.stringify({ receivedAt: message.receivedAt, body }, null, 2)}\n`);
      this.received.push(message);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}\n');
    });
  }
}
