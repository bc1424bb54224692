import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';

/**
 * The two Kubernetes API calls retraining needs, over plain HTTPS with the pod's
 * service-account token and CA (no client library): read a CronJob, create a Job from its
 * `spec.jobTemplate` exactly as `kubectl create job <name> --from=cronjob/<cronjob>` does.
 *
 * RBAC the monitor's ServiceAccount needs, in the CronJob's namespace: `get` on
 * `batch/cronjobs` (restricted by `resourceNames` to the one CronJob) and `create` on
 * `batch/jobs` (Kubernetes cannot restrict `create` by name).
 */

/** Where and how to reach the API server. */
export interface KubeConnection {
  /** Base URL, e.g. `https://10.0.0.1:443` (an `http://` URL is accepted for tests). */
  readonly apiServer: string;
  /** Service-account token file (re-read on every call: projected tokens rotate). */
  readonly tokenFile: string;
  /** CA bundle for the API server's certificate (https only). */
  readonly caFile?: string;
  readonly timeoutMs: number;
}

/** The in-cluster defaults: `$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT`. */
export function inClusterApiServer(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT ?? '443';
  if (!host) return undefined;
  return `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** The namespace of the pod's service account. */
export function inClusterNamespace(file = '/var/run/secrets/kubernetes.io/serviceaccount/namespace'): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** A failed API call: the HTTP status and the API's `Status` message. */
export class KubeApiError extends Error {
  constructor(public readonly status: number, public readonly reason: string, message: string) {
    super(message);
    this.name = 'KubeApiError';
  }
}

/** One request to the API server; resolves with the parsed JSON body. */
export async function kubeRequest(conn: KubeConnection, method: 'GET' | 'POST', path: string, body?: unknown): Promise<Record<string, unknown>> {
  let token: string;
  try {
    token = (await fs.promises.readFile(conn.tokenFile, 'utf8')).trim();
  } catch (e) {
    throw new Error(`cannot read the service-account token ${conn.tokenFile}: ${(e as Error).message}`);
  }
  const url = new URL(path, conn.apiServer.endsWith('/') ? conn.apiServer : `${conn.apiServer}/`);
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  const isHttps = url.protocol === 'https:';
  let ca: Buffer | undefined;
  if (isHttps && conn.caFile) {
    try {
      ca = await fs.promises.readFile(conn.caFile);
    } catch (e) {
      throw new Error(`cannot read the API server CA ${conn.caFile}: ${(e as Error).message}`);
    }
  }
  const options: https.RequestOptions = {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      accept: 'application/json',
      ...(payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {}),
    },
    timeout: conn.timeoutMs,
    ...(ca ? { ca } : {}),
  };
  return new Promise((resolve, reject) => {
    const req = (isHttps ? https : http).request(url, options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: Record<string, unknown> = {};
        try {
          json = text ? JSON.parse(text) as Record<string, unknown> : {};
        } catch {
          json = { message: text.slice(0, 200) };
        }
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) resolve(json);
        else reject(new KubeApiError(status, String(json.reason ?? ''), `${method} ${url.pathname} answered ${status}${json.message ? `: ${String(json.message)}` : ''}`));
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${url.pathname} timed out after ${conn.timeoutMs} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** Minimal typing of what is read from a CronJob. */
export interface CronJobLike {
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly uid: string };
  readonly spec: { readonly jobTemplate: { readonly metadata?: { readonly labels?: Record<string, string>; readonly annotations?: Record<string, string> }; readonly spec: Record<string, unknown> } };
}

/**
 * The Job `kubectl create job <name> --from=cronjob/<cronjob>` makes: the template's spec,
 * labels and annotations, plus `cronjob.kubernetes.io/instantiate: manual` and a controller
 * ownerReference to the CronJob; `extraAnnotations` are added on top.
 */
export function jobFromCronJob(cronJob: CronJobLike, name: string, extraAnnotations: Readonly<Record<string, string>> = {}): Record<string, unknown> {
  const tpl = cronJob.spec.jobTemplate;
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name,
      ...(cronJob.metadata.namespace ? { namespace: cronJob.metadata.namespace } : {}),
      annotations: { 'cronjob.kubernetes.io/instantiate': 'manual', ...(tpl.metadata?.annotations ?? {}), ...extraAnnotations },
      ...(tpl.metadata?.labels ? { labels: { ...tpl.metadata.labels } } : {}),
      ownerReferences: [{ apiVersion: 'batch/v1', kind: 'CronJob', name: cronJob.metadata.name, uid: cronJob.metadata.uid, controller: true }],
    },
    spec: tpl.spec,
  };
}

/**
 * Reads `namespace/cronJob` and creates the Job `name` from it. Resolves with `created: false`
 * when a Job of that name already exists (409), which makes a retried trigger idempotent.
 */
export async function createJobFromCronJob(
  conn: KubeConnection,
  namespace: string,
  cronJob: string,
  name: string,
  annotations: Readonly<Record<string, string>> = {},
): Promise<{ created: boolean; job: Record<string, unknown> }> {
  const ns = encodeURIComponent(namespace);
  const cj = await kubeRequest(conn, 'GET', `apis/batch/v1/namespaces/${ns}/cronjobs/${encodeURIComponent(cronJob)}`) as unknown as CronJobLike;
  if (!cj?.spec?.jobTemplate?.spec || !cj.metadata?.uid) {
    throw new Error(`CronJob ${namespace}/${cronJob} has no spec.jobTemplate.spec or metadata.uid`);
  }
  const job = jobFromCronJob(cj, name, annotations);
  try {
    await kubeRequest(conn, 'POST', `apis/batch/v1/namespaces/${ns}/jobs`, job);
    return { created: true, job };
  } catch (e) {
    if (e instanceof KubeApiError && e.status === 409) return { created: false, job };
    throw e;
  }
}
