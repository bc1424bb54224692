import { Construct } from 'constructs';
import { k8s } from '../cluster/k8s';

/**
 * The admission half of "the monitor may create Jobs only from that one CronJob". RBAC can limit
 * `get` on the CronJob by `resourceNames`, but not `create` on Jobs (a new object has no name to
 * match yet), so a token stolen from the monitor could start any Job, with any image and any
 * ServiceAccount, in the training namespace. This ValidatingAdmissionPolicy (GA since Kubernetes
 * 1.30) closes that: for requests by the monitor's ServiceAccount only, a Job is admitted when it
 * is what `kubectl create job --from=cronjob/<name>` (and the runtime's `jobFromCronJob`) makes of
 * the live CronJob, which the policy reads as its parameter:
 *
 * - exactly one ownerReference, the controller reference to that CronJob (name and uid);
 * - the annotation `cronjob.kubernetes.io/instantiate: manual` and a name `<cronjob>-retrain-...`;
 * - a pod spec EQUAL to the CronJob's `jobTemplate.spec.template.spec` (image, args, env,
 *   ServiceAccount, volumes, security context: everything);
 * - the template's Job and pod labels and annotations present with the same values (a Kueue
 *   queue label cannot be dropped);
 * - the template's Job settings kept: parallelism and completions as Kubernetes defaults them,
 *   and deadline, backoff, TTL, completion mode and failure policies where the template sets
 *   them; no manual selector.
 *
 * A missing CronJob denies (`parameterNotFoundAction: Deny`). Requests by anyone else are not
 * matched (`matchConditions`), so the CronJob controller and people are unaffected.
 */

/** Validations, in order: each CEL expression with its message. */
export interface AdmissionValidation {
  readonly expression: string;
  readonly message: string;
}

/** The CEL of the policy, for tests that evaluate it. */
export interface RetrainAdmissionCel {
  readonly matchConditions: readonly { readonly name: string; readonly expression: string }[];
  readonly variables: readonly { readonly name: string; readonly expression: string }[];
  readonly validations: readonly AdmissionValidation[];
}

/** Job spec fields that must equal the template's where the template sets them. */
const KEPT_JOB_FIELDS = [
  'activeDeadlineSeconds', 'backoffLimit', 'backoffLimitPerIndex', 'maxFailedIndexes', 'ttlSecondsAfterFinished',
  'completionMode', 'podFailurePolicy', 'successPolicy', 'podReplacementPolicy', 'managedBy',
] as const;

const orEmpty = (path: string, field: string) => `has(${path}) && has(${path}.${field}) ? ${path}.${field} : {}`;
const superset = (required: string, actual: string) => `variables.${required}.all(k, k in variables.${actual} && variables.${actual}[k] == variables.${required}[k])`;

/** The policy's CEL for the monitor's ServiceAccount and the training CronJob. */
export function retrainAdmissionCel(monitor: { namespace: string; serviceAccountName: string }, cronJob: { namespace: string; name: string }): RetrainAdmissionCel {
  const user = `system:serviceaccount:${monitor.namespace}:${monitor.serviceAccountName}`;
  const owner = `${cronJob.namespace}/${cronJob.name}`;
  return {
    matchConditions: [{ name: 'requested-by-the-drift-monitor', expression: `request.userInfo.username == '${user}'` }],
    variables: [
      { name: 'tpl', expression: 'params.spec.jobTemplate' },
      { name: 'jobLabels', expression: 'has(object.metadata.labels) ? object.metadata.labels : {}' },
      { name: 'jobAnnotations', expression: 'has(object.metadata.annotations) ? object.metadata.annotations : {}' },
      { name: 'podLabels', expression: orEmpty('object.spec.template.metadata', 'labels') },
      { name: 'podAnnotations', expression: orEmpty('object.spec.template.metadata', 'annotations') },
      { name: 'tplLabels', expression: orEmpty('variables.tpl.metadata', 'labels') },
      { name: 'tplAnnotations', expression: orEmpty('variables.tpl.metadata', 'annotations') },
      { name: 'tplPodLabels', expression: orEmpty('variables.tpl.spec.template.metadata', 'labels') },
      { name: 'tplPodAnnotations', expression: orEmpty('variables.tpl.spec.template.metadata', 'annotations') },
    ],
    validations: [
      {
        expression: 'has(object.metadata.ownerReferences) && size(object.metadata.ownerReferences) == 1 && object.metadata.ownerReferences.all(r, '
          + "r.apiVersion == 'batch/v1' && r.kind == 'CronJob' && r.name == params.metadata.name && r.uid == params.metadata.uid && has(r.controller) && r.controller == true)",
        message: `a Job created by the drift monitor must have exactly one owner: the controller reference to CronJob ${owner}`,
      },
      {
        expression: "'cronjob.kubernetes.io/instantiate' in variables.jobAnnotations && variables.jobAnnotations['cronjob.kubernetes.io/instantiate'] == 'manual' "
          + "&& object.metadata.name.startsWith(params.metadata.name + '-retrain-')",
        message: `a Job created by the drift monitor must be a manual instantiation of CronJob ${owner} named '${cronJob.name}-retrain-...'`,
      },
      {
        expression: 'object.spec.template.spec == variables.tpl.spec.template.spec',
        message: `the pod spec of a Job created by the drift monitor must equal the job template of CronJob ${owner}`,
      },
      {
        expression: [superset('tplLabels', 'jobLabels'), superset('tplAnnotations', 'jobAnnotations'), superset('tplPodLabels', 'podLabels'), superset('tplPodAnnotations', 'podAnnotations')].join(' && '),
        message: `a Job created by the drift monitor must carry the labels and annotations of the job template of CronJob ${owner}`,
      },
      {
        expression: [
          '(has(object.spec.parallelism) ? object.spec.parallelism : 1) == (has(variables.tpl.spec.parallelism) ? variables.tpl.spec.parallelism : 1)',
          '(has(variables.tpl.spec.completions) ? has(object.spec.completions) && object.spec.completions == variables.tpl.spec.completions '
            + ': (has(variables.tpl.spec.parallelism) ? !has(object.spec.completions) : !has(object.spec.completions) || object.spec.completions == 1))',
          ...KEPT_JOB_FIELDS.map((f) => `(!has(variables.tpl.spec.${f}) || has(object.spec.${f}) && object.spec.${f} == variables.tpl.spec.${f})`),
          '(!has(object.spec.manualSelector) || object.spec.manualSelector == false)',
        ].join(' && '),
        message: `a Job created by the drift monitor must keep the Job settings of the job template of CronJob ${owner} (parallelism, completions, deadlines, backoff, TTL, no manual selector)`,
      },
    ],
  };
}

/** Options of {@link RetrainAdmission}. */
export interface RetrainAdmissionProps {
  /** Name of the policy and its binding (cluster-scoped: unique in the cluster). */
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly monitor: { readonly namespace: string; readonly serviceAccountName: string };
  readonly cronJob: { readonly namespace: string; readonly name: string };
}

/** The ValidatingAdmissionPolicy and its binding (admissionregistration.k8s.io/v1). */
export class RetrainAdmission extends Construct {
  public readonly policy: k8s.KubeValidatingAdmissionPolicy;
  public readonly binding: k8s.KubeValidatingAdmissionPolicyBinding;
  public readonly cel: RetrainAdmissionCel;

  constructor(scope: Construct, id: string, props: RetrainAdmissionProps) {
    super(scope, id);
    this.cel = retrainAdmissionCel(props.monitor, props.cronJob);
    this.policy = new k8s.KubeValidatingAdmissionPolicy(this, 'policy', {
      metadata: { name: props.name, labels: props.labels },
      spec: {
        failurePolicy: 'Fail',
        paramKind: { apiVersion: 'batch/v1', kind: 'CronJob' },
        matchConstraints: {
          resourceRules: [{ apiGroups: ['batch'], apiVersions: ['v1'], operations: ['CREATE'], resources: ['jobs'] }],
        },
        matchConditions: this.cel.matchConditions.map((c) => ({ ...c })),
        variables: this.cel.variables.map((x) => ({ ...x })),
        validations: this.cel.validations.map((x) => ({ expression: x.expression, message: x.message, reason: 'Forbidden' })),
      },
    });
    this.binding = new k8s.KubeValidatingAdmissionPolicyBinding(this, 'binding', {
      metadata: { name: props.name, labels: props.labels },
      spec: {
        policyName: props.name,
        validationActions: ['Deny'],
        paramRef: { name: props.cronJob.name, namespace: props.cronJob.namespace, parameterNotFoundAction: 'Deny' },
        matchResources: { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': props.cronJob.namespace } } },
      },
    });
  }
}
