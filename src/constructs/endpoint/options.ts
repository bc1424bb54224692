import { DNS_1123_LABEL, PropValidator } from '../errors';
import type { IPrometheus } from '../refs';

/** Attributes of a Gateway API `Gateway` that lives outside this program. */
export interface GatewayAttributes {
  /** The Gateway's name. */
  readonly name: string;
  /** The Gateway's namespace. */
  readonly namespace: string;
  /**
   * Listener to attach to (`parentRefs[].sectionName`).
   * @default - every listener that admits the route
   */
  readonly sectionName?: string;
  /**
   * Namespace of the gateway's data-plane (proxy) pods, which the endpoint's NetworkPolicy
   * admits. Envoy Gateway runs them in `envoy-gateway-system`, Istio and Cilium beside the Gateway.
   * @default - the Gateway's namespace
   */
  readonly proxyNamespace?: string;
  /**
   * Labels of the data-plane pods within `proxyNamespace`.
   * @default - every pod of that namespace
   */
  readonly proxyPodLabels?: Record<string, string>;
}

/**
 * A Gateway API `Gateway` an endpoint's `HTTPRoute` attaches to (`parentRefs`). The Gateway
 * belongs to the cluster's ingress layer: it must admit routes from the serving namespace
 * (`spec.listeners[].allowedRoutes.namespaces`).
 */
export class GatewayRef {
  /** A Gateway known by name and namespace. */
  public static fromAttributes(attributes: GatewayAttributes): GatewayRef {
    return new GatewayRef(attributes);
  }

  public readonly name: string;
  public readonly namespace: string;
  public readonly sectionName?: string;
  public readonly proxyNamespace: string;
  public readonly proxyPodLabels: Readonly<Record<string, string>>;

  private constructor(a: GatewayAttributes) {
    this.name = a.name;
    this.namespace = a.namespace;
    this.sectionName = a.sectionName;
    this.proxyNamespace = a.proxyNamespace ?? a.namespace;
    this.proxyPodLabels = { ...a.proxyPodLabels };
  }

  /** @internal */
  public _validate(v: PropValidator, prop: string): void {
    v.check(typeof this.name === 'string' && this.name.length > 0 && this.name.length <= 253, `${prop}.name`, this.name, 'must be a Gateway name');
    v.check(DNS_1123_LABEL.test(this.namespace ?? ''), `${prop}.namespace`, this.namespace, 'must be a namespace name (DNS-1123 label)');
    v.check(DNS_1123_LABEL.test(this.proxyNamespace ?? ''), `${prop}.proxyNamespace`, this.proxyNamespace, 'must be a namespace name (DNS-1123 label)');
    if (this.sectionName !== undefined) {
      v.check(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(this.sectionName), `${prop}.sectionName`, this.sectionName, 'must be a listener name');
    }
  }
}

/** Attributes of a Prometheus the endpoint is scraped by and whose queries drive scaling and analysis. */
export interface PrometheusAttributes {
  /** HTTP address of the Prometheus API, as KEDA and Argo Rollouts reach it (`http://prometheus-operated.monitoring.svc:9090`). */
  readonly address: string;
  /** Namespace of the Prometheus pods (the NetworkPolicy admits their scrapes). */
  readonly namespace: string;
  /** Labels of the Prometheus pods. */
  readonly podLabels: Record<string, string>;
  /**
   * Labels the Prometheus `serviceMonitorSelector` requires on ServiceMonitors.
   * @default {}
   */
  readonly serviceMonitorLabels?: Record<string, string>;
}

/** The Prometheus (Prometheus Operator) that scrapes endpoints and answers their queries. */
export class PrometheusRef implements IPrometheus {
  /**
   * The Prometheus of the `kube-prometheus-stack` Helm chart: the operator's `prometheus-operated`
   * Service, pods labelled `app.kubernetes.io/name: prometheus`, ServiceMonitors selected by the
   * chart's `release` label.
   */
  public static kubePrometheusStack(options: { readonly namespace?: string; readonly release?: string } = {}): PrometheusRef {
    const namespace = options.namespace ?? 'monitoring';
    return new PrometheusRef({
      address: `http://prometheus-operated.${namespace}.svc:9090`,
      namespace,
      podLabels: { 'app.kubernetes.io/name': 'prometheus' },
      serviceMonitorLabels: { release: options.release ?? 'kube-prometheus-stack' },
    });
  }

  /** Any Prometheus, described by its attributes. */
  public static fromAttributes(attributes: PrometheusAttributes): PrometheusRef {
    return new PrometheusRef(attributes);
  }

  public readonly address: string;
  public readonly namespace: string;
  public readonly podLabels: Readonly<Record<string, string>>;
  public readonly serviceMonitorLabels: Readonly<Record<string, string>>;

  private constructor(a: PrometheusAttributes) {
    this.address = a.address;
    this.namespace = a.namespace;
    this.podLabels = { ...a.podLabels };
    this.serviceMonitorLabels = { ...a.serviceMonitorLabels };
  }

  /** @internal */
  public _validate(v: PropValidator, prop: string): void {
    v.check(/^https?:\/\/[^\s/]+(\/\S*)?$/.test(this.address ?? ''), `${prop}.address`, this.address, 'must be an http(s) URL of the Prometheus API');
    v.check(DNS_1123_LABEL.test(this.namespace ?? ''), `${prop}.namespace`, this.namespace, 'must be a namespace name (DNS-1123 label)');
  }
}

/** How clients authenticate to an endpoint's inference routes. */
export class EndpointAuth {
  /**
   * Bearer tokens from a Kubernetes Secret in the serving namespace, one token per line under
   * `key` (the runtime re-reads the file when the Secret changes, so tokens rotate without a
   * restart). The Secret is managed outside the program (External Secrets, Sealed Secrets,
   * `kubectl create secret generic <name> --from-file=tokens=...`); pods stay Pending until it exists.
   * @param secretName the Secret's name
   * @param key @default 'tokens'
   */
  public static tokensFromSecret(secretName: string, key: string = 'tokens'): EndpointAuth {
    return new EndpointAuth('tokens', secretName, key);
  }

  /**
   * No authentication: inference is open to whatever the gateway admits. The reason is written
   * to platform.json.
   */
  public static none(reason: string): EndpointAuth {
    return new EndpointAuth('none', undefined, undefined, reason);
  }

  private constructor(
    /** `tokens` or `none`. */
    public readonly kind: 'tokens' | 'none',
    /** The Secret holding the tokens. */
    public readonly secretName?: string,
    /** The Secret's key holding the tokens. */
    public readonly key?: string,
    /** Why the endpoint is open. */
    public readonly reason?: string,
  ) {}

  /** @internal */
  public _validate(v: PropValidator, prop: string): void {
    if (this.kind === 'tokens') {
      v.check(DNS_1123_LABEL.test(this.secretName ?? '') && (this.secretName ?? '').length <= 253, `${prop}.secretName`, this.secretName, 'must be a Secret name (DNS-1123)');
      v.check(/^[-._a-zA-Z0-9]+$/.test(this.key ?? ''), `${prop}.key`, this.key, "must be a Secret key (letters, digits, '-', '_', '.')");
    } else {
      v.check(typeof this.reason === 'string' && this.reason.trim().length >= 10, `${prop}.reason`, this.reason, 'must say why the endpoint needs no authentication (at least 10 characters)');
    }
  }
}

/** Options of CPU-based autoscaling. */
export interface CpuScalingOptions {
  /** @default 2 */
  readonly minReplicas?: number;
  /** @default 10 */
  readonly maxReplicas?: number;
  /**
   * Average CPU utilisation (percent of the request) the HPA keeps.
   * @default 70
   */
  readonly targetUtilizationPercent?: number;
  /**
   * Seconds the HPA waits before scaling down (avoids flapping).
   * @default 300
   */
  readonly scaleDownStabilizationSeconds?: number;
}

/**
 * Scale to zero with KEDA when no request arrives. While an endpoint has no pod, its own
 * metrics do not exist: `wakeQuery` must be a PromQL expression over what the *gateway* counts
 * for the route (requests per second, including those answered 503 while no pod runs), for
 * example for Envoy Gateway
 * `sum(rate(envoy_cluster_upstream_rq_total{envoy_cluster_name=~"httproute/<ns>/<endpoint>/.*"}[1m]))`.
 *
 * Cold start: the first request after idling waits for, or is answered 503 during, a pod's
 * scheduling (plus a node's provisioning when the pool is empty: minutes on GPU nodes), the
 * image pull (cached on warm nodes), the model's download from the registry with its sha256
 * check, the onnxruntime session creation and the warm-up run, before readiness turns true.
 * Expect seconds for a small tabular model on a warm node and minutes for a large model on a new
 * GPU node: use it for development, batch-like and rarely used endpoints, not for latency SLOs.
 *
 * On GPUs (`resources.gpus` with a `placement`) the cold start adds up: a node from an empty GPU
 * pool (Karpenter typically 1 to 3 min, a managed node group via the Cluster Autoscaler 3 to 6
 * min), the pull of the CUDA runtime image (several GB: a minute or more on a new node), then the
 * CUDA context and cuDNN/cuBLAS initialisation of the first session (seconds) with the model's
 * download and warm-up. While the pool keeps a node (Karpenter's `consolidateAfter`, 10 min by
 * default), a wake-up costs only the image-cached pod start and the model load. Orders of
 * magnitude, not measurements.
 */
export interface ScaleToZeroOptions {
  /** PromQL returning the request rate the gateway sees for the route. */
  readonly wakeQuery: string;
  /**
   * Seconds without requests before scaling to zero (KEDA `cooldownPeriod`).
   * @default 300
   */
  readonly idleSeconds?: number;
}

/** Options of request-rate autoscaling through KEDA's Prometheus scaler. */
export interface RequestRateScalingOptions {
  /** Requests per second one replica should handle (the KEDA threshold, averaged over replicas). */
  readonly targetPerReplica: number;
  /**
   * Fewest replicas; must be unset with `scaleToZero` (KEDA's `minReplicaCount` is then 0).
   * @default 2
   */
  readonly minReplicas?: number;
  /** @default 10 */
  readonly maxReplicas?: number;
  /**
   * Scale to zero when idle (KEDA `minReplicaCount: 0`).
   * @default - never below minReplicas
   */
  readonly scaleToZero?: ScaleToZeroOptions;
  /**
   * Rate window of the query.
   * @default '1m'
   */
  readonly window?: string;
  /**
   * Seconds between KEDA's queries.
   * @default 15
   */
  readonly pollingIntervalSeconds?: number;
}

/** How an endpoint's replicas scale. */
export class EndpointScaling {
  /** A HorizontalPodAutoscaler (autoscaling/v2) on CPU utilisation. */
  public static cpu(options: CpuScalingOptions = {}): EndpointScaling {
    return new EndpointScaling('cpu', options.minReplicas ?? 2, options.maxReplicas ?? 10, {
      targetUtilizationPercent: options.targetUtilizationPercent ?? 70,
      scaleDownStabilizationSeconds: options.scaleDownStabilizationSeconds ?? 300,
    }, { minReplicasSet: options.minReplicas !== undefined });
  }

  /**
   * A KEDA ScaledObject with a Prometheus trigger on the endpoint's own request rate
   * (`cdk_mlops_serve_requests_total`), optionally scaling to zero.
   */
  public static requestsPerSecond(options: RequestRateScalingOptions): EndpointScaling {
    const toZero = options.scaleToZero !== undefined;
    return new EndpointScaling('requests-per-second', toZero ? (options.minReplicas ?? 0) : options.minReplicas ?? 2, options.maxReplicas ?? 10, {
      targetPerReplica: options.targetPerReplica,
      window: options.window ?? '1m',
      pollingIntervalSeconds: options.pollingIntervalSeconds ?? 15,
      wakeQuery: options.scaleToZero?.wakeQuery,
      idleSeconds: options.scaleToZero?.idleSeconds ?? 300,
    }, { minReplicasSet: options.minReplicas !== undefined, scaleToZero: toZero });
  }

  private constructor(
    /** `cpu` (HPA) or `requests-per-second` (KEDA). */
    public readonly kind: 'cpu' | 'requests-per-second',
    /** Fewest replicas (0 when scaling to zero). */
    public readonly minReplicas: number,
    /** Most replicas. */
    public readonly maxReplicas: number,
    /** @internal */
    public readonly _options: {
      targetUtilizationPercent?: number;
      scaleDownStabilizationSeconds?: number;
      targetPerReplica?: number;
      window?: string;
      pollingIntervalSeconds?: number;
      wakeQuery?: string;
      idleSeconds?: number;
    },
    /** @internal */
    public readonly _flags: { minReplicasSet: boolean; scaleToZero?: boolean },
  ) {}

  /** Whether the endpoint scales to zero when idle. */
  public get scaleToZero(): boolean {
    return this._flags.scaleToZero === true;
  }

  /** @internal */
  public _validate(v: PropValidator, prop: string): void {
    const o = this._options;
    const isInt = (n: unknown) => typeof n === 'number' && Number.isInteger(n);
    if (this.scaleToZero) {
      v.check(!this._flags.minReplicasSet || this.minReplicas === 0, `${prop}.minReplicas`, this.minReplicas,
        'must be unset (or 0) with scaleToZero: KEDA then scales between 0 and maxReplicas');
      v.check(typeof o.wakeQuery === 'string' && o.wakeQuery.trim().length > 0, `${prop}.scaleToZero.wakeQuery`, o.wakeQuery,
        "must be a PromQL query over the gateway's request count for the route (with no pod running, the endpoint's own metrics do not exist)");
      v.check(isInt(o.idleSeconds) && o.idleSeconds! >= 30, `${prop}.scaleToZero.idleSeconds`, o.idleSeconds, 'must be a whole number of seconds >= 30');
    } else {
      v.check(isInt(this.minReplicas) && this.minReplicas >= 1, `${prop}.minReplicas`, this.minReplicas,
        'must be a whole number >= 1 (scaling to zero needs EndpointScaling.requestsPerSecond({ scaleToZero }))');
    }
    v.check(isInt(this.maxReplicas) && this.maxReplicas >= 1 && this.maxReplicas <= 1000, `${prop}.maxReplicas`, this.maxReplicas, 'must be a whole number from 1 to 1000');
    if (isInt(this.minReplicas) && isInt(this.maxReplicas)) {
      v.check(this.minReplicas <= this.maxReplicas, `${prop}.minReplicas`, this.minReplicas, `must not exceed '${prop}.maxReplicas' (${this.maxReplicas})`);
    }
    if (this.kind === 'cpu') {
      v.check(isInt(o.targetUtilizationPercent) && o.targetUtilizationPercent! >= 1 && o.targetUtilizationPercent! <= 100,
        `${prop}.targetUtilizationPercent`, o.targetUtilizationPercent, 'must be a whole percentage from 1 to 100');
      v.check(isInt(o.scaleDownStabilizationSeconds) && o.scaleDownStabilizationSeconds! >= 0 && o.scaleDownStabilizationSeconds! <= 3600,
        `${prop}.scaleDownStabilizationSeconds`, o.scaleDownStabilizationSeconds, 'must be a whole number of seconds from 0 to 3600');
    } else {
      v.check(typeof o.targetPerReplica === 'number' && Number.isFinite(o.targetPerReplica) && o.targetPerReplica > 0,
        `${prop}.targetPerReplica`, o.targetPerReplica, 'must be a number of requests per second > 0');
      v.check(DURATION.test(o.window ?? ''), `${prop}.window`, o.window, "must be a duration like '1m' or '30s'");
      v.check(isInt(o.pollingIntervalSeconds) && o.pollingIntervalSeconds! >= 1, `${prop}.pollingIntervalSeconds`, o.pollingIntervalSeconds, 'must be a whole number of seconds >= 1');
    }
  }
}

/** A duration as Argo Rollouts, KEDA and PromQL range selectors accept it: `30s`, `5m`, `1h`. */
export const DURATION = /^[1-9][0-9]*(s|m|h)$/;
