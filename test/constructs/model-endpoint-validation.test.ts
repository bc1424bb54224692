import {
  AnalysisMetric, DeploymentStrategy, EndpointAuth, EndpointScaling, GatewayRef, MlopsValidationError, ModelEndpoint, ModelEndpointProps, ModelRegistry, PrometheusRef,
} from '../../src';
import { GATEWAY, TestFeatureService } from '../support/endpoint';
import { newPlatform } from '../support/platform';

/** Builds an endpoint with `props` over the defaults; returns the validation error it throws. */
function problemsOf(props: (r: ModelRegistry) => Partial<ModelEndpointProps>, id = 'fraud'): MlopsValidationError {
  const { platform } = newPlatform();
  const registry = new ModelRegistry(platform, 'registry');
  try {
    new ModelEndpoint(platform, id, { model: registry.model('fraud').version(7), gateway: GATEWAY, ...props(registry) });
  } catch (e) {
    expect(e).toBeInstanceOf(MlopsValidationError);
    expect((e as MlopsValidationError).constructPath).toBe(`dev/${id}`);
    return e as MlopsValidationError;
  }
  throw new Error('expected a validation error, the endpoint was accepted');
}

/** The single problem of an error, as `'prop' (received) expected`. */
function lines(e: MlopsValidationError): string[] {
  return e.problems.map((p) => `'${p.prop}' (${p.received}) ${p.expected}`);
}

const canary = (analysis: any, steps = [{ weight: 10 }]) => DeploymentStrategy.canary({ steps, analysis });

describe('ModelEndpoint fails at synth time with a clear message', () => {
  test.each<[string, (r: ModelRegistry) => Partial<ModelEndpointProps>, RegExp]>([
    ['minReplicas > maxReplicas (CPU)', () => ({ scaling: EndpointScaling.cpu({ minReplicas: 5, maxReplicas: 3 }) }),
      /'scaling\.minReplicas' \(5\) must not exceed 'scaling\.maxReplicas' \(3\)/],
    ['minReplicas > maxReplicas (requests per second)', () => ({ scaling: EndpointScaling.requestsPerSecond({ targetPerReplica: 10, minReplicas: 4, maxReplicas: 2 }) }),
      /'scaling\.minReplicas' \(4\) must not exceed 'scaling\.maxReplicas' \(2\)/],
    ['zero replicas without KEDA scale to zero', () => ({ scaling: EndpointScaling.cpu({ minReplicas: 0 }) }),
      /'scaling\.minReplicas' \(0\) must be a whole number >= 1 \(scaling to zero needs EndpointScaling\.requestsPerSecond/],
    ['scale to zero without a wake query', () => ({ scaling: EndpointScaling.requestsPerSecond({ targetPerReplica: 10, scaleToZero: { wakeQuery: ' ' } }) }),
      /'scaling\.scaleToZero\.wakeQuery' \(" "\) must be a PromQL query over the gateway's request count/],
    ['scale to zero with a replica floor', () => ({ scaling: EndpointScaling.requestsPerSecond({ targetPerReplica: 10, minReplicas: 2, scaleToZero: { wakeQuery: 'up' } }) }),
      /'scaling\.minReplicas' \(2\) must be unset \(or 0\) with scaleToZero/],
    ['a request-rate target of 0', () => ({ scaling: EndpointScaling.requestsPerSecond({ targetPerReplica: 0 }) }),
      /'scaling\.targetPerReplica' \(0\) must be a number of requests per second > 0/],
    ['CPU target above 100 %', () => ({ scaling: EndpointScaling.cpu({ targetUtilizationPercent: 150 }) }),
      /'scaling\.targetUtilizationPercent' \(150\) must be a whole percentage from 1 to 100/],
    ['A/B weights not summing to 100', (r) => ({ strategy: DeploymentStrategy.abTest([{ model: r.model('fraud').version(7), weight: 70 }, { model: r.model('fraud').version(8), weight: 20 }]) }),
      /'strategy\.arms\[\]\.weight' \(\[70,20\]\) must sum to 100, got 90/],
    ['an A/B weight outside 0-100', (r) => ({ strategy: DeploymentStrategy.abTest([{ model: r.model('fraud').version(7), weight: 150 }, { model: r.model('fraud').version(8), weight: -50 }]) }),
      /'strategy\.arms\[0\]\.weight' \(150\) must be a whole percentage from 0 to 100/],
    ['an A/B test with one arm', (r) => ({ strategy: DeploymentStrategy.abTest([{ model: r.model('fraud').version(7), weight: 100 }]) }),
      /'strategy\.arms' \(1\) must list at least two arms/],
    ['an A/B test without the endpoint\'s model', (r) => ({ strategy: DeploymentStrategy.abTest([{ model: r.model('fraud').version(8), weight: 50 }, { model: r.model('fraud').version(9), weight: 50 }]) }),
      /'strategy\.arms' \(\["fraud@8","fraud@9"\]\) must include the endpoint's model \(fraud@7\) as the control arm/],
    ['an A/B arm of another model', (r) => ({ strategy: DeploymentStrategy.abTest([{ model: r.model('fraud').version(7), weight: 50 }, { model: r.model('churn').version(1), weight: 50 }]) }),
      /'strategy\.arms\[1\]\.model' \("churn@1"\) must be a version of the endpoint's model 'fraud'/],
    ['the same version in two arms', (r) => ({ strategy: DeploymentStrategy.abTest([{ model: r.model('fraud').version(7), weight: 50 }, { model: r.model('fraud').version(7), weight: 50, variant: 'again' }]) }),
      /'strategy\.arms\[1\]\.model' \("fraud@7"\) is listed twice/],
    ['an arm alias that is no variant name', (r) => ({ strategy: DeploymentStrategy.abTest([{ model: r.model('fraud').version(7), weight: 50 }, { model: r.model('fraud').alias('Champion_2'), weight: 50 }]) }),
      /'strategy\.arms\[1\]\.variant' \("Champion_2"\) must be lower-case letters/],
    ['a canary without analysis', () => ({ strategy: DeploymentStrategy.canary({ steps: [{ weight: 10 }] } as never) }),
      /'strategy\.analysis' \(undefined\) must be given: a canary rolls back on measurements of the new version/],
    ['a canary without metrics', () => ({ strategy: canary({ metrics: [] }) }),
      /'strategy\.analysis\.metrics' \(\[\]\) must list at least one AnalysisMetric: without metrics nothing can trigger a rollback/],
    ['a canary metric that is not an AnalysisMetric', () => ({ strategy: canary({ metrics: [{ name: 'x' }] }) }),
      /'strategy\.analysis\.metrics\[0\]' \(\{"name":"x"\}\) must be made with AnalysisMetric/],
    ['a canary with an error rate of 5 (not a fraction)', () => ({ strategy: canary({ metrics: [AnalysisMetric.errorRate(5)] }) }),
      /'strategy\.analysis\.metrics\[0\]\.errorRate' \(5\) must be a fraction from 0 to below 1/],
    ['a quality metric without a threshold', () => ({ strategy: canary({ metrics: [AnalysisMetric.predictionQuality({ name: 'auc', query: 'x' })] }) }),
      /'strategy\.analysis\.metrics\[0\]\.atLeast\/atMost' .* must set a finite atLeast, atMost or both/],
    ['a quality metric with an unknown noData', () => ({ strategy: canary({ metrics: [AnalysisMetric.predictionQuality({ name: 'auc', query: 'x', atLeast: 0.9, noData: 'fail' as never })] }) }),
      /'strategy\.analysis\.metrics\[0\]\.noData' .*"fail".* must be 'inconclusive' or 'pass'/],
    ['two metrics with one name', () => ({ strategy: canary({ metrics: [AnalysisMetric.errorRate(0.01), AnalysisMetric.errorRate(0.02)] }) }),
      /'strategy\.analysis\.metrics\[1\]\.name' \("error-rate"\) must be unique within the analysis/],
    ['a canary with decreasing weights', () => ({ strategy: canary({}, [{ weight: 50 }, { weight: 20 }]) }),
      /'strategy\.steps\[1\]\.weight' \(20\) must be greater than the previous step's weight \(50\)/],
    ['a canary step weight above 100', () => ({ strategy: canary({}, [{ weight: 120 }]) }),
      /'strategy\.steps\[0\]\.weight' \(120\) must be a whole percentage from 1 to 100/],
    ['a canary pause that is no duration', () => ({ strategy: canary({}, [{ weight: 10, pause: 'ten minutes' } as never]) }),
      /'strategy\.steps\[0\]\.pause' \("ten minutes"\) must be a duration like '10m' or 'indefinite'/],
    ['a canary of an alias', (r) => ({ model: r.model('fraud').alias('champion'), strategy: canary({}) }),
      /'model' \("fraud@champion"\) must be a pinned version with DeploymentStrategy\.canary: the runtime follows an alias on every pod at once/],
    ['a blue-green deployment of an alias', (r) => ({ model: r.model('fraud').alias('champion'), strategy: DeploymentStrategy.blueGreen() }),
      /'model' \("fraud@champion"\) must be a pinned version with DeploymentStrategy\.blueGreen/],
    ['a canary without steps', () => ({ strategy: canary({}, []) }),
      /'strategy\.steps' \(\[\]\) must list at least one step/],
    ['an analysis interval that is no duration', () => ({ strategy: canary({ interval: '1 minute' }) }),
      /'strategy\.analysis\.interval' \("1 minute"\) must be a duration like '30s', '1m' or '1h'/],
    ['a shadow percent above 100', (r) => ({ strategy: DeploymentStrategy.shadow(r.model('fraud').version(8), { percent: 101 }) }),
      /'strategy\.percent' \(101\) must be a whole percentage from 0 to 100 \(HTTPRoute RequestMirror percent\)/],
    ['a negative shadow percent', (r) => ({ strategy: DeploymentStrategy.shadow(r.model('fraud').version(8), { percent: -5 }) }),
      /'strategy\.percent' \(-5\) must be a whole percentage from 0 to 100/],
    ['a shadow of the served version itself', (r) => ({ strategy: DeploymentStrategy.shadow(r.model('fraud').version(7), { percent: 10 }) }),
      /'strategy\.candidate' \("fraud@7"\) must differ from the endpoint's model \(fraud@7\)/],
    ['a shadow of another model', (r) => ({ strategy: DeploymentStrategy.shadow(r.model('churn').version(3), { percent: 10 }) }),
      /'strategy\.candidate' \("churn@3"\) must be a version of the endpoint's model 'fraud'/],
    ['batching on for a model with a fixed batch axis', () => ({ batching: { enabled: true }, signature: { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 30] }] } }),
      /'batching\.enabled' \(true\) must be false for this model: tensor 'x' has a fixed batch axis \(shape \[1,30\]\)/],
    ['batching on for a model hinted unbatchable', () => ({ batching: { enabled: true }, signature: { batchable: false } }),
      /'batching\.enabled' \(true\) must be false for this model: the signature hint says 'batchable: false'/],
    ['a batchable hint that contradicts the tensors', () => ({ signature: { batchable: true, outputs: [{ name: 'y', datatype: 'FP32', shape: [4] }] } }),
      /'signature\.batchable' \(true\) contradicts the tensors: tensor 'y' has a fixed batch axis/],
    ['a batch size the runtime refuses', () => ({ batching: { maxBatchSize: 0 } }),
      /'batching\.maxBatchSize' \(0\) .*>=1.*\(serve configuration 'models\.0\.batching\.maxBatchSize' of variant 'primary'\)/],
    ['a body limit the runtime refuses', () => ({ limits: { bodyLimitBytes: 10 } }),
      /'limits\.bodyLimitBytes' \(10\) .*>=1024/],
    ['a prediction sample rate above 1', () => ({ predictionLog: { sampleRate: 2 } }),
      /'predictionLog\.sampleRate' \(2\) .*<=1/],
    ['a prediction-log prefix with a leading slash', () => ({ predictionLog: { prefix: '/predictions' } }),
      /'predictionLog\.prefix' \("\/predictions"\) must be an S3 key prefix/],
    ['a node pool toleration with a bad effect', () => ({ nodePool: { poolName: 'p', nodeSelector: {}, tolerations: [{ key: 'k', effect: 'Never' }] } }),
      /'nodePool\.tolerations\[0\]\.effect' \("Never"\) must be 'NoSchedule', 'PreferNoSchedule' or 'NoExecute'/],
    ['an endpoint name that is no DNS label', () => ({ endpointName: 'Fraud_Model' }),
      /'endpointName' \("Fraud_Model"\) must be a DNS-1123 label starting with a letter, at most 40 characters/],
    ['an open endpoint without a reason', () => ({ auth: EndpointAuth.none('') }),
      /'auth\.reason' \(""\) must say why the endpoint needs no authentication/],
    ['a tokens Secret that is no Secret name', () => ({ auth: EndpointAuth.tokensFromSecret('My Tokens') }),
      /'auth\.secretName' \("My Tokens"\) must be a Secret name/],
    ['auth that is no EndpointAuth', () => ({ auth: { kind: 'none' } as never }),
      /'auth' \(\{"kind":"none"\}\) must be made with EndpointAuth\.tokensFromSecret or EndpointAuth\.none/],
    ['a Prometheus that is no PrometheusRef', () => ({ prometheus: { address: 'http://p:9090' } as never }),
      /'prometheus' \(\{"address":"http:\/\/p:9090"\}\) must be made with PrometheusRef/],
    ['a Prometheus address that is no URL', () => ({ prometheus: PrometheusRef.fromAttributes({ address: 'prometheus:9090', namespace: 'monitoring', podLabels: {} }) }),
      /'prometheus\.address' \("prometheus:9090"\) must be an http\(s\) URL of the Prometheus API/],
    ['a gateway that is no GatewayRef', () => ({ gateway: { name: 'public', namespace: 'gateways' } as never }),
      /'gateway' \(\{"name":"public","namespace":"gateways"\}\) must be a GatewayRef/],
    ['a gateway in no valid namespace', () => ({ gateway: GatewayRef.fromAttributes({ name: 'public', namespace: 'Gateways' }) }),
      /'gateway\.namespace' \("Gateways"\) must be a namespace name/],
    ['a hostname that is no hostname', () => ({ hostnames: ['https://api.example.com'] }),
      /'hostnames\[0\]' \("https:\/\/api\.example\.com"\) must be a DNS hostname/],
    ['a model that is not a registry version', () => ({ model: 'fraud@7' as never }),
      /'model' \(.*\) must be a registry model version/],
    ['feature inputs naming an unknown join key', () => ({ features: { service: new TestFeatureService(), entityInputs: { customer: 'customer_id', shop: 'shop_id' } } }),
      /'features\.entityInputs\.shop' \("shop_id"\) must be a join key of feature service 'fraud_features': customer_id, merchant_id/],
    ['feature inputs missing a join key', () => ({ features: { service: new TestFeatureService(), entityInputs: { customer: 'customer_id' } } }),
      /'features\.entityInputs' .* must give join key 'merchant_id' of feature service 'fraud_features'/],
    ['a feature default for an unknown feature', () => ({ features: { service: new TestFeatureService(), entityInputs: { c: 'customer_id', m: 'merchant_id' }, onMissing: 'default', defaults: { income: 1 } } }),
      /'features\.defaults\.income' \("income"\) must name a feature of service 'fraud_features'/],
    ['feature defaults that can never apply', () => ({ features: { service: new TestFeatureService(), entityInputs: { c: 'customer_id', m: 'merchant_id' }, defaults: { age: 1 } } }),
      /'features\.onMissing' \("reject"\) must be 'default' when 'features\.defaults' is given/],
    ['a feature lookup timeout of 0', () => ({ features: { service: new TestFeatureService(), entityInputs: { c: 'customer_id', m: 'merchant_id' }, timeoutMs: 0 } }),
      /'features\.timeoutMs' \(0\) .*>=1/],
  ])('fails if %s', (_name, props, expected) => {
    const e = problemsOf(props);
    expect(lines(e).join('\n')).toMatch(expected);
    expect(e.message).toContain("cdk-mlops: invalid props at 'dev/fraud'");
  });

  test('fails if a variant name would make an object name exceed 63 characters', () => {
    const e = problemsOf((r) => ({
      endpointName: 'a'.repeat(40),
      strategy: DeploymentStrategy.abTest([{ model: r.model('fraud').version(7), weight: 50 }, { model: r.model('fraud').version(8), weight: 50, variant: 'challenger-with-long-nm' }]),
    }));
    expect(lines(e).join('\n')).toMatch(/'strategy\.arms\[1\]\.variant' \("challenger-with-long-nm"\) must be lower-case letters, digits or '-', starting with a letter, at most 22 characters/);
  });

  test('reports every problem together', () => {
    const e = problemsOf((r) => ({
      scaling: EndpointScaling.cpu({ minReplicas: 5, maxReplicas: 3 }),
      strategy: DeploymentStrategy.abTest([{ model: r.model('fraud').version(7), weight: 10 }, { model: r.model('fraud').version(8), weight: 10 }]),
      resources: { gpus: 2 },
    }));
    expect(e.problems.map((p) => p.prop)).toEqual(['scaling.minReplicas', 'resources.gpus', 'resources.gpus', 'image', 'strategy.arms[].weight']);
  });

  test('a rejected endpoint leaves nothing behind in the platform', () => {
    const { platform } = newPlatform();
    const registry = new ModelRegistry(platform, 'registry');
    expect(() => new ModelEndpoint(platform, 'fraud', { model: registry.model('fraud').version(7), gateway: GATEWAY, limits: { bodyLimitBytes: 1 } })).toThrow(MlopsValidationError);
    expect(platform.allWorkloads).toEqual([]);
    expect(platform.inventoryEntries.filter((x) => x.kind === 'endpoint')).toEqual([]);
  });
});
