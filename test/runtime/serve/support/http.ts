import * as http from 'node:http';

/** A response read whole. */
export interface RawResponse {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

/** What a raw request sends. */
export interface RawRequest {
  readonly method?: string;
  readonly path: string;
  readonly headers?: Record<string, string | undefined>;
  /** Sent as is; objects are JSON-encoded. */
  readonly body?: string | Buffer | object;
}

/**
 * One HTTP request with full control of headers and body (fetch would add a content type),
 * over a keep-alive agent. Resolves with the status, headers and body; never retries.
 */
export function request(baseUrl: string, req: RawRequest, agent?: http.Agent): Promise<RawResponse> {
  const url = new URL(req.path, baseUrl);
  const body = req.body === undefined ? undefined : typeof req.body === 'string' || Buffer.isBuffer(req.body) ? req.body : JSON.stringify(req.body);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers ?? {})) if (v !== undefined) headers[k] = v;
  if (body !== undefined && headers['content-length'] === undefined) headers['content-length'] = String(Buffer.byteLength(body));
  return new Promise((resolve, reject) => {
    const r = http.request({ host: url.hostname, port: url.port, path: url.pathname + url.search, method: req.method ?? 'GET', headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    r.on('error', reject);
    r.setTimeout(15_000, () => r.destroy(new Error(`request ${req.method ?? 'GET'} ${req.path} timed out`)));
    if (body !== undefined) r.write(body);
    r.end();
  });
}

/** POST JSON to an inference URL with optional headers. */
export function postJson(baseUrl: string, path: string, body: unknown, headers: Record<string, string> = {}, agent?: http.Agent): Promise<RawResponse> {
  return request(baseUrl, { method: 'POST', path, body: JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } }, agent);
}
