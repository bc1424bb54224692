import * as crypto from 'node:crypto';
import { Construct } from 'constructs';
import { k8s } from './k8s';
import { compareStrings } from '../../util/compare';
import type { MlPlatform, Workload } from '../platform';
import type { RuntimeImage } from '../runtime-image';

/** Where every runtime container finds its typed configuration. */
export const RUNTIME_CONFIG_DIR = '/etc/cdk-mlops';
export const RUNTIME_CONFIG_FILE = `${RUNTIME_CONFIG_DIR}/config.json`;
/** The runtime image's user (Dockerfile: USER 10001:10001). */
export const RUNTIME_UID = 10001;

/** CPU and memory of one container. */
export interface ComputeResources {
  /** @default '250m' */
  readonly cpuRequest?: string;
  /** @default '1' */
  readonly cpuLimit?: string;
  /** @default '512Mi' */
  readonly memoryRequest?: string;
  /** @default '1Gi' */
  readonly memoryLimit?: string;
  /**
   * NVIDIA GPUs (`nvidia.com/gpu`, requests = limits).
   * @default 0
   */
  readonly gpus?: number;
}

/** What a runtime container runs. */
export interface RuntimeContainerOptions {
  /** CLI arguments after `cdk-mlops` (`['serve']`, `['train', '--hpo-trial']`). */
  readonly args: string[];
  readonly resources?: ComputeResources;
  /** Named container ports. */
  readonly ports?: { readonly name: string; readonly port: number }[];
  /** HTTP path for the readiness probe on the first port. */
  readonly readinessPath?: string;
  /** HTTP path for the liveness probe on the first port. */
  readonly livenessPath?: string;
  /** Plain environment variables (never secrets). */
  readonly env?: Record<string, string>;
  /** Environment variables from Secret keys: name -> { secret, key }. */
  readonly secretEnv?: Record<string, { readonly secret: string; readonly key: string }>;
  /** Secrets mounted read-only as files: mount path -> secret name. */
  readonly secretMounts?: Record<string, string>;
  /** Name of the ConfigMap holding `config.json` (see `runtimeConfigMap`). */
  readonly configMapName?: string;
  /** Environment variables from the pod's own fields (downward API): name -> fieldPath. */
  readonly fieldEnv?: Record<string, string>;
  /**
   * Another image built FROM the runtime image (same entry point).
   * @default - the platform's runtime image
   */
  readonly image?: RuntimeImage;
}

/** Kubernetes quantity helper. */
const q = (s: string) => k8s.Quantity.fromString(s);

/** A runtime container's resources with the defaults filled in (what `runtimeContainer` sets). */
export function resolvedResources(r: ComputeResources = {}): Required<ComputeResources> {
  return {
    cpuRequest: r.cpuRequest ?? '250m',
    cpuLimit: r.cpuLimit ?? '1',
    memoryRequest: r.memoryRequest ?? '512Mi',
    memoryLimit: r.memoryLimit ?? '1Gi',
    gpus: r.gpus ?? 0,
  };
}

/**
 * The one hardened container that runs the runtime image: non-root (uid 10001), read-only
 * root filesystem with an emptyDir for /tmp, no privilege escalation, ALL capabilities
 * dropped, RuntimeDefault seccomp, requests and limits set, config mounted read-only.
 */
export function runtimeContainer(platform: MlPlatform, name: string, o: RuntimeContainerOptions): k8s.Container {
  const r = resolvedResources(o.resources);
  const gpus = r.gpus;
  const limits: Record<string, k8s.Quantity> = { cpu: q(r.cpuLimit), memory: q(r.memoryLimit) };
  const requests: Record<string, k8s.Quantity> = { cpu: q(r.cpuRequest), memory: q(r.memoryRequest) };
  if (gpus > 0) {
    limits['nvidia.com/gpu'] = k8s.Quantity.fromNumber(gpus);
    requests['nvidia.com/gpu'] = k8s.Quantity.fromNumber(gpus);
  }
  const env: k8s.EnvVar[] = [
    ...(o.configMapName ? [{ name: 'CDK_MLOPS_CONFIG', value: RUNTIME_CONFIG_FILE }] : []),
    { name: 'TMPDIR', value: '/tmp' },
    ...Object.entries(o.env ?? {}).sort(([a], [b]) => compareStrings(a, b)).map(([k, v]) => ({ name: k, value: v })),
    ...Object.entries(o.fieldEnv ?? {}).sort(([a], [b]) => compareStrings(a, b))
      .map(([k, fieldPath]) => ({ name: k, valueFrom: { fieldRef: { fieldPath } } })),
    ...Object.entries(o.secretEnv ?? {}).sort(([a], [b]) => compareStrings(a, b))
      .map(([k, v]) => ({ name: k, valueFrom: { secretKeyRef: { name: v.secret, key: v.key } } })),
  ];
  const mounts: k8s.VolumeMount[] = [{ name: 'tmp', mountPath: '/tmp' }];
  if (o.configMapName) mounts.push({ name: 'config', mountPath: RUNTIME_CONFIG_DIR, readOnly: true });
  Object.keys(o.secretMounts ?? {}).sort().forEach((path, i) => mounts.push({ name: `secret-${i}`, mountPath: path, readOnly: true }));
  const firstPort = o.ports?.[0];
  const httpProbe = (path: string, period: number, failure: number): k8s.Probe => ({
    httpGet: { path, port: k8s.IntOrString.fromString(firstPort!.name) },
    periodSeconds: period,
    failureThreshold: failure,
    timeoutSeconds: 2,
  });
  return {
    name,
    image: (o.image ?? platform.runtimeImage).reference,
    imagePullPolicy: 'IfNotPresent',
    args: o.args,
    env,
    ports: o.ports?.map((p) => ({ name: p.name, containerPort: p.port, protocol: 'TCP' })),
    readinessProbe: o.readinessPath && firstPort ? httpProbe(o.readinessPath, 5, 3) : undefined,
    livenessProbe: o.livenessPath && firstPort ? httpProbe(o.livenessPath, 10, 6) : undefined,
    resources: { limits, requests },
    securityContext: {
      runAsNonRoot: true,
      runAsUser: RUNTIME_UID,
      runAsGroup: RUNTIME_UID,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      privileged: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    },
    volumeMounts: mounts,
  };
}

/** Options of a runtime pod. */
export interface RuntimePodOptions {
  readonly workload: Workload;
  readonly containers: k8s.Container[];
  readonly configMapName?: string;
  readonly secretMounts?: Record<string, string>;
  readonly nodeSelector?: Record<string, string>;
  readonly tolerations?: k8s.Toleration[];
  readonly priorityClassName?: string;
  /** @default 'Always' (Jobs use 'Never') */
  readonly restartPolicy?: string;
  /** @default 30 */
  readonly terminationGracePeriodSeconds?: number;
  readonly topologySpreadConstraints?: k8s.TopologySpreadConstraint[];
}

/** A hardened pod spec for runtime containers, running as the workload's ServiceAccount. */
export function runtimePodSpec(o: RuntimePodOptions): k8s.PodSpec {
  const volumes: k8s.Volume[] = [{ name: 'tmp', emptyDir: { sizeLimit: q('1Gi') } }];
  if (o.configMapName) volumes.push({ name: 'config', configMap: { name: o.configMapName } });
  Object.entries(o.secretMounts ?? {}).sort(([a], [b]) => compareStrings(a, b))
    .forEach(([, secret], i) => volumes.push({ name: `secret-${i}`, secret: { secretName: secret, defaultMode: 0o440 } }));
  return {
    serviceAccountName: o.workload.serviceAccountName,
    automountServiceAccountToken: o.workload.automountToken,
    securityContext: {
      runAsNonRoot: true,
      runAsUser: RUNTIME_UID,
      runAsGroup: RUNTIME_UID,
      fsGroup: RUNTIME_UID,
      seccompProfile: { type: 'RuntimeDefault' },
    },
    containers: o.containers,
    volumes,
    nodeSelector: o.nodeSelector,
    tolerations: o.tolerations,
    priorityClassName: o.priorityClassName,
    restartPolicy: o.restartPolicy,
    terminationGracePeriodSeconds: o.terminationGracePeriodSeconds ?? 30,
    topologySpreadConstraints: o.topologySpreadConstraints,
    enableServiceLinks: false,
  };
}

/**
 * A ConfigMap holding a runtime command's validated configuration as `config.json`
 * (sorted keys, so its content and the checksum are deterministic). Returns the ConfigMap and
 * the checksum to put on the pod template (`cdk-mlops.io/config-checksum`), so pods roll when
 * the configuration changes.
 */
export function runtimeConfigMap(scope: Construct, id: string, o: { name: string; namespace: string; labels: Record<string, string>; config: unknown }):
{ configMap: k8s.KubeConfigMap; checksum: string } {
  const { text, checksum } = runtimeConfigText(o.config);
  const configMap = new k8s.KubeConfigMap(scope, id, {
    metadata: { name: o.name, namespace: o.namespace, labels: o.labels },
    data: { 'config.json': text },
  });
  return { configMap, checksum };
}

/**
 * The `config.json` text of a runtime configuration (sorted keys, undefined values dropped) and
 * its sha256: what `runtimeConfigMap` writes. For constructs whose configuration is complete only
 * at synthesis (a feature registry that grows as views are added), to produce the same text lazily.
 */
export function runtimeConfigText(config: unknown): { text: string; checksum: string } {
  const text = `${JSON.stringify(sortKeys(config), null, 2)}\n`;
  return { text, checksum: crypto.createHash('sha256').update(text).digest('hex') };
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.keys(v).sort().filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]));
  }
  return v;
}

/** The EKS Pod Identity agent's link-local address: pods get their AWS credentials there. */
export const POD_IDENTITY_AGENT_CIDR = '169.254.170.23/32';

/**
 * Egress rules a runtime workload needs to reach AWS APIs (S3, STS, SSM, ...) over HTTPS and
 * its credentials from the Pod Identity agent, while the instance metadata service stays
 * unreachable.
 */
export function awsEgressRules(): k8s.NetworkPolicyEgressRule[] {
  return [
    {
      to: [{ ipBlock: { cidr: '0.0.0.0/0', except: ['169.254.169.254/32'] } }],
      ports: [{ protocol: 'TCP', port: k8s.IntOrString.fromNumber(443) }],
    },
    {
      to: [{ ipBlock: { cidr: POD_IDENTITY_AGENT_CIDR } }],
      ports: [{ protocol: 'TCP', port: k8s.IntOrString.fromNumber(80) }],
    },
  ];
}
