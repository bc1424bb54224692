/**
 * The cluster plane's building blocks: typed Kubernetes objects (`k8s`, generated for the
 * Kubernetes version cdk8s-plus-33 targets) and the cdk8s-plus workload classes.
 */
export { k8s } from 'cdk8s-plus-33';
export * as kplus from 'cdk8s-plus-33';
export { ApiObject, Chart, Duration, JsonPatch, Lazy, Yaml } from 'cdk8s';
