import { kubeObjects, newPlatform, synth, TestKubeObject } from './platform';
import {
  GatewayRef, MlPlatform, ModelEndpoint, ModelEndpointProps, ModelRegistry, PlatformSynthesis,
} from '../../src';
import type { IFeatureServer, IFeatureService, Workload } from '../../src';

/** The Gateway the endpoint tests attach to (Envoy Gateway runs its proxies elsewhere). */
export const GATEWAY = GatewayRef.fromAttributes({
  name: 'public',
  namespace: 'gateways',
  sectionName: 'https',
  proxyNamespace: 'envoy-gateway-system',
  proxyPodLabels: { 'gateway.envoyproxy.io/owning-gateway-name': 'public' },
});

/** What `buildEndpoint` returns. */
export interface BuiltEndpoint {
  platform: MlPlatform;
  registry: ModelRegistry;
  endpoint: ModelEndpoint;
  s: PlatformSynthesis;
  /** Objects of the serving chart. */
  serving: TestKubeObject[];
  /** Every Kubernetes object of the synthesis. */
  all: TestKubeObject[];
}

/** A platform with a ModelRegistry and one endpoint `fraud` serving `fraud@7`, synthesized. */
export function buildEndpoint(props: (registry: ModelRegistry) => Partial<ModelEndpointProps> = () => ({}), id = 'fraud'): BuiltEndpoint {
  const { platform } = newPlatform();
  const registry = new ModelRegistry(platform, 'registry');
  const endpoint = new ModelEndpoint(platform, id, { model: registry.model('fraud').version(7), gateway: GATEWAY, ...props(registry) });
  const s = synth(platform);
  return { platform, registry, endpoint, s, serving: s.kubernetes['serving.yaml'] as TestKubeObject[], all: kubeObjects(s) };
}

/** The one object of a kind (and name), failing clearly when absent or ambiguous. */
export function one(objs: TestKubeObject[], kind: string, name?: string): any {
  const found = objs.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (found.length !== 1) throw new Error(`expected one ${kind}${name ? ` '${name}'` : ''}, found ${found.length}: ${objs.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
  return found[0];
}

/** The serve configuration a workload's pods read (the projected annotation), parsed. */
export function serveConfigOf(workload: any): any {
  return JSON.parse(workload.spec.template.metadata.annotations['cdk-mlops.io/serve-config']);
}

/**
 * A test double of a feature service (the FeatureStore constructs implement IFeatureService):
 * records which workloads it was asked to admit.
 */
export class TestFeatureService implements IFeatureService {
  public readonly featureServiceName = 'fraud_features';
  public readonly featureRefs = ['transactions:amount_7d', 'transactions:count_1h', 'customers:age'];
  public readonly joinKeys = ['customer_id', 'merchant_id'];
  public readonly clients: Workload[] = [];
  public readonly server: IFeatureServer;
  constructor() {
    const clients = this.clients;
    this.server = {
      url: 'http://feature-server.acme-ml-features.svc.cluster.local:6566',
      namespace: 'acme-ml-features',
      podSelector: { 'app.kubernetes.io/name': 'feature-server' },
      port: 6566,
      allowClient(w: Workload) {
        clients.push(w);
      },
    };
  }
}
