import { createHash } from 'node:crypto';
import * as http from 'node:http';
import { AddressInfo } from 'node:net';

/**
 * An in-process S3 stand-in on 127.0.0.1 for tests: path-style requests only, no auth check,
 * objects kept in memory. It implements what the project's S3 code uses, with S3's semantics:
 *
 * - PutObject, with `If-None-Match: *` (412 PreconditionFailed when the key exists) and
 *   `If-Match: <etag>` (412 when the key is absent or its ETag differs);
 * - GetObject (404 NoSuchKey), HeadObject, DeleteObject (204 even when absent);
 * - ListObjectsV2 with `prefix`, `max-keys` (default 1000), `continuation-token`,
 *   `start-after`, keys in UTF-8 binary order.
 *
 * Every request is recorded in `requests` so tests can assert on what was sent.
 */
export class FakeS3 {
  /** bucket -> key -> object */
  public readonly buckets = new Map<string, Map<string, { body: Buffer; etag: string }>>();
  public readonly requests: { method: string; path: string; headers: http.IncomingHttpHeaders }[] = [];
  /** Called before a request is handled; return true to have handled it (fault injection). */
  public intercept?: (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer) => boolean;
  private server?: http.Server;

  constructor(buckets: readonly string[] = ['registry']) {
    for (const b of buckets) this.buckets.set(b, new Map());
  }

  /** Starts listening on 127.0.0.1 on a free port; returns the endpoint URL. */
  async start(): Promise<string> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        try {
          this.handle(req, res, Buffer.concat(chunks));
        } catch (e) {
          sendError(res, 500, 'InternalError', (e as Error).message);
        }
      });
    });
    this.server.keepAliveTimeout = 1000;
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this.endpoint;
  }

  get endpoint(): string {
    const { port } = this.server!.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    this.server = undefined;
  }

  /** Credentials and endpoint settings for the project's S3 options. */
  get s3Options(): { endpoint: string; forcePathStyle: true; region: string; credentials: { accessKeyId: string; secretAccessKey: string } } {
    return { endpoint: this.endpoint, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
  }

  /** The object's bytes, or undefined. */
  object(bucket: string, key: string): Buffer | undefined {
    return this.buckets.get(bucket)?.get(key)?.body;
  }

  /** Stores an object directly (a test tampering with the store). */
  putObject(bucket: string, key: string, body: Buffer): void {
    this.buckets.get(bucket)!.set(key, { body, etag: etagOf(body) });
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse, raw: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    this.requests.push({ method: req.method ?? '', path: url.pathname + url.search, headers: req.headers });
    if (this.intercept?.(req, res, raw)) return;
    const [, bucketName, ...rest] = url.pathname.split('/');
    const key = decodeURIComponent(rest.join('/'));
    const bucket = this.buckets.get(decodeURIComponent(bucketName ?? ''));
    if (!bucket) return sendError(res, 404, 'NoSuchBucket', `The specified bucket does not exist: ${bucketName}`);
    const method = req.method ?? 'GET';

    if (!key) {
      if (method === 'GET' && url.searchParams.get('list-type') === '2') return this.list(bucket, url.searchParams, res, bucketName);
      return sendError(res, 501, 'NotImplemented', `${method} on a bucket is not implemented by the fake`);
    }
    const existing = bucket.get(key);
    switch (method) {
      case 'PUT': {
        const body = decodeBody(req, raw);
        const ifNoneMatch = req.headers['if-none-match'];
        const ifMatch = req.headers['if-match'];
        if (ifNoneMatch === '*' && existing) return sendError(res, 412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold');
        if (ifMatch !== undefined && (!existing || existing.etag !== ifMatch)) {
          if (!existing) return sendError(res, 404, 'NoSuchKey', 'The specified key does not exist.');
          return sendError(res, 412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold');
        }
        const etag = etagOf(body);
        bucket.set(key, { body, etag });
        res.writeHead(200, { 'ETag': etag, 'Content-Length': 0 });
        res.end();
        return;
      }
      case 'GET':
      case 'HEAD': {
        if (!existing) {
          if (method === 'HEAD') {
            res.writeHead(404);
            res.end();
            return;
          }
          return sendError(res, 404, 'NoSuchKey', 'The specified key does not exist.');
        }
        res.writeHead(200, {
          'ETag': existing.etag,
          'Content-Length': existing.body.length,
          'Content-Type': 'application/octet-stream',
          'Last-Modified': new Date(0).toUTCString(),
        });
        res.end(method === 'HEAD' ? undefined : existing.body);
        return;
      }
      case 'DELETE':
        bucket.delete(key);
        res.writeHead(204);
        res.end();
        return;
      default:
        return sendError(res, 501, 'NotImplemented', `${method} is not implemented by the fake`);
    }
  }

  private list(bucket: Map<string, { body: Buffer; etag: string }>, params: URLSearchParams, res: http.ServerResponse, bucketName: string): void {
    const prefix = params.get('prefix') ?? '';
    const maxKeys = Math.min(Number(params.get('max-keys') ?? 1000), 1000);
    const after = params.has('continuation-token')
      ? Buffer.from(params.get('continuation-token')!, 'base64').toString('utf8')
      : params.get('start-after') ?? '';
    const keys = [...bucket.keys()].filter((k) => k.startsWith(prefix) && k > after).sort(compareBinary);
    const page = keys.slice(0, maxKeys);
    const truncated = keys.length > page.length;
    const contents = page.map((k) => {
      const o = bucket.get(k)!;
      return `<Contents><Key>${xml(k)}</Key><LastModified>1970-01-01T00:00:00.000Z</LastModified><ETag>${xml(o.etag)}</ETag><Size>${o.body.length}</Size><StorageClass>STANDARD</StorageClass></Contents>`;
    }).join('');
    const next = truncated ? `<NextContinuationToken>${Buffer.from(page[page.length - 1]).toString('base64')}</NextContinuationToken>` : '';
    const body = `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>${xml(bucketName)}</Name><Prefix>${xml(prefix)}</Prefix><KeyCount>${page.length}</KeyCount><MaxKeys>${maxKeys}</MaxKeys><IsTruncated>${truncated}</IsTruncated>${contents}${next}</ListBucketResult>`;
    res.writeHead(200, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  }
}

function compareBinary(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

function etagOf(body: Buffer): string {
  return `"${createHash('md5').update(body).digest('hex')}"`;
}

/** Undoes `aws-chunked` content encoding (what the SDK sends for streamed bodies with checksums). */
function decodeBody(req: http.IncomingMessage, raw: Buffer): Buffer {
  const encoding = String(req.headers['content-encoding'] ?? '');
  if (!encoding.includes('aws-chunked')) return raw;
  const parts: Buffer[] = [];
  let pos = 0;
  for (let guard = 0; guard < 1_000_000 && pos < raw.length; guard++) {
    const eol = raw.indexOf('\r\n', pos);
    if (eol < 0) break;
    const size = parseInt(raw.subarray(pos, eol).toString('latin1').split(';')[0], 16);
    if (!size) break;
    parts.push(raw.subarray(eol + 2, eol + 2 + size));
    pos = eol + 2 + size + 2;
  }
  return Buffer.concat(parts);
}

function xml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function sendError(res: http.ServerResponse, status: number, code: string, message: string): void {
  const body = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${xml(message)}</Message><RequestId>fake</RequestId></Error>`;
  res.writeHead(status, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}
