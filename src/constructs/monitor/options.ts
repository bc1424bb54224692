import { DNS_1123_LABEL, PropValidator } from '../errors';
import { CronSchedule, longestGapMinutes, parseCron } from './cron';

const DURATION = /^\d+(ms|s|m|h|d)$/;

/** Minutes of a runtime duration (`30s`, `15m`, `6h`, `7d`), or undefined when it is not one. */
export function durationMinutes(text: string): number | undefined {
  const m = /^(\d+)(ms|s|m|h|d)$/.exec(text);
  if (!m) return undefined;
  const unit = { ms: 1 / 60_000, s: 1 / 60, m: 1, h: 60, d: 1440 }[m[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
  return Number(m[1]) * unit;
}

/**
 * When the monitor runs: a Kubernetes CronJob (`cdk-mlops monitor --once` on a cron schedule,
 * metrics pushed to a Pushgateway), or a Deployment (`cdk-mlops monitor --continuous`, a run every
 * `interval` and `/metrics` scraped through a ServiceMonitor).
 */
export class MonitorSchedule {
  /**
   * A CronJob on a cron schedule (the Kubernetes dialect, evaluated in UTC), e.g. `'*\/15 * * * *'`.
   * Each run reads the window of logs ending at its start and exits; metrics go to the
   * Pushgateway (see `DriftMonitorProps.pushgateway`), the only way a batch job's metrics
   * outlive its pod without a node-level collector.
   * @see https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/#schedule-syntax
   */
  public static cron(expression: string): MonitorSchedule {
    return new MonitorSchedule('cron', expression, undefined);
  }

  /**
   * A Deployment that runs every `interval` (the next run starts `interval` after the previous
   * one ended) and serves `/metrics`, `/report` and health checks on port 9108.
   * @param options.interval @default '15m'
   */
  public static continuous(options: { readonly interval?: string } = {}): MonitorSchedule {
    return new MonitorSchedule('continuous', undefined, options.interval ?? '15m');
  }

  /** @internal parsed by `_validate` */
  public _cron?: CronSchedule;

  private constructor(
    /** `cron` (a CronJob) or `continuous` (a Deployment). */
    public readonly kind: 'cron' | 'continuous',
    /** The cron expression (cron only). */
    public readonly expression: string | undefined,
    /** Time between runs (continuous only). */
    public readonly interval: string | undefined,
  ) {}

  /**
   * The longest time between two runs, in minutes: the longest gap of the cron schedule, or the
   * interval. Undefined before validation or when the schedule never runs.
   */
  public get longestGapMinutes(): number | undefined {
    if (this.kind === 'continuous') return durationMinutes(this.interval ?? '');
    return this._cron ? longestGapMinutes(this._cron) : undefined;
  }

  /** @internal */
  public _validate(v: PropValidator, prop: string): void {
    if (this.kind === 'cron') {
      try {
        this._cron = parseCron(this.expression ?? '');
      } catch (e) {
        v.fail(prop, this.expression, `must be a Kubernetes CronJob schedule: ${(e as Error).message}`);
        return;
      }
      if (longestGapMinutes(this._cron) === undefined) v.fail(prop, this.expression, 'never runs (no calendar day matches its day-of-month, month and day-of-week)');
    } else {
      const minutes = durationMinutes(this.interval ?? '');
      v.check(DURATION.test(this.interval ?? '') && minutes !== undefined && minutes >= 1, `${prop}.interval`, this.interval,
        'must be a duration of at least one minute such as 5m, 15m or 1h');
    }
  }
}

/** Attributes of a Pushgateway. */
export interface PushgatewayAttributes {
  /** Base URL the monitor pushes to (`http://prometheus-pushgateway.monitoring.svc:9091`). */
  readonly url: string;
  /** Namespace of the Pushgateway's pods (the peer of the monitor's egress NetworkPolicy). */
  readonly namespace: string;
  /** Labels of the Pushgateway's pods. */
  readonly podLabels: Readonly<Record<string, string>>;
  /** TCP port of the pods. */
  readonly port: number;
}

/**
 * The Prometheus Pushgateway that a scheduled monitor pushes its metrics to. Each run replaces
 * the group `job=cdk-mlops-monitor, model=<model>`; Prometheus must scrape the Pushgateway with
 * `honorLabels: true` (the community chart's ServiceMonitor does) so the series keep their
 * `model`, `version` and `feature` labels.
 */
export class PushgatewayRef {
  /**
   * The `prometheus-pushgateway` Helm chart of prometheus-community: Service `<release>` on port
   * 9091, pods labelled `app.kubernetes.io/name: prometheus-pushgateway`.
   * @param options.namespace @default 'monitoring'
   * @param options.release @default 'prometheus-pushgateway'
   */
  public static prometheusCommunity(options: { readonly namespace?: string; readonly release?: string } = {}): PushgatewayRef {
    const namespace = options.namespace ?? 'monitoring';
    const release = options.release ?? 'prometheus-pushgateway';
    return new PushgatewayRef({
      url: `http://${release}.${namespace}.svc:9091`,
      namespace,
      podLabels: { 'app.kubernetes.io/name': 'prometheus-pushgateway', 'app.kubernetes.io/instance': release },
      port: 9091,
    });
  }

  /** Any Pushgateway, described by its attributes. */
  public static fromAttributes(attributes: PushgatewayAttributes): PushgatewayRef {
    return new PushgatewayRef(attributes);
  }

  public readonly url: string;
  public readonly namespace: string;
  public readonly podLabels: Readonly<Record<string, string>>;
  public readonly port: number;

  private constructor(a: PushgatewayAttributes) {
    this.url = a.url;
    this.namespace = a.namespace;
    this.podLabels = { ...a.podLabels };
    this.port = a.port;
  }

  /** @internal */
  public _validate(v: PropValidator, prop: string): void {
    v.check(/^https?:\/\/[^\s/]+(\/\S*)?$/.test(this.url ?? ''), `${prop}.url`, this.url, 'must be an http(s) URL of the Pushgateway');
    v.check(DNS_1123_LABEL.test(this.namespace ?? ''), `${prop}.namespace`, this.namespace, 'must be a namespace name (DNS-1123 label)');
    v.check(Object.keys(this.podLabels ?? {}).length > 0, `${prop}.podLabels`, this.podLabels, "must name at least one label of the Pushgateway's pods");
    v.check(Number.isInteger(this.port) && this.port >= 1 && this.port <= 65_535, `${prop}.port`, this.port, 'must be a TCP port (1-65535)');
  }
}

/** The alert webhook (Slack-compatible incoming webhook), its URL kept in a Secret. */
export interface MonitorWebhookOptions {
  /** Secret in the monitoring namespace holding the webhook URL (managed outside the program). */
  readonly secretName: string;
  /**
   * Key of the URL in the Secret.
   * @default 'url'
   */
  readonly key?: string;
  /**
   * TCP port of the webhook. 443 is already reachable through the HTTPS egress rule; another
   * port adds an egress rule for it (every address but the instance metadata service).
   * @default 443
   */
  readonly port?: number;
}
