/**
 * Types of the custom resources the cluster plane writes as plain `ApiObject`s, from the
 * `@kubernetes-models/*` packages (dev dependencies; type-only imports, erased at compile time).
 * Object literals checked with `satisfies` get the CRD schema's fields: a misspelt or unknown
 * field fails compilation instead of being pruned by the API server. Internal: not exported
 * from the package.
 */
import type { IClusterSecretStore } from '@kubernetes-models/external-secrets/external-secrets.io/v1beta1/ClusterSecretStore';
import type { IExternalSecret } from '@kubernetes-models/external-secrets/external-secrets.io/v1beta1/ExternalSecret';
import type { IScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject';
import type { IPrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';
import type { IServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';

/** keda.sh/v1alpha1 ScaledObject `spec`. */
export type ScaledObjectSpec = NonNullable<IScaledObject['spec']>;
/** monitoring.coreos.com/v1 ServiceMonitor `spec`. */
export type ServiceMonitorSpec = NonNullable<IServiceMonitor['spec']>;
/** monitoring.coreos.com/v1 PrometheusRule `spec`. */
export type PrometheusRuleSpec = NonNullable<IPrometheusRule['spec']>;
/** external-secrets.io ExternalSecret `spec` (v1 serves the v1beta1 schema unchanged). */
export type ExternalSecretSpec = NonNullable<IExternalSecret['spec']>;
/** external-secrets.io ClusterSecretStore `spec`. */
export type ClusterSecretStoreSpec = NonNullable<IClusterSecretStore['spec']>;
