import { evaluate } from '@marcbachmann/cel-js';
import { buildMonitor } from './drift-monitor.fixtures';
import { retrainJobName } from '../../src/runtime/monitor/actions';
import { jobFromCronJob } from '../../src/runtime/monitor/kube';
import { one } from '../support/endpoint';

/**
 * The ValidatingAdmissionPolicy that guards retraining Jobs, evaluated the way the API server
 * evaluates it: the policy's matchConstraints and the binding's namespace selector pick the
 * request, matchConditions decide whether the policy applies, variables are evaluated in order,
 * and every validation must be true. The CEL runs on a CEL evaluator (@marcbachmann/cel-js, the
 * standard CEL macros and operators Kubernetes uses); no cluster runs here.
 *
 * The Job is the one the monitor's runtime makes (`jobFromCronJob`, exactly what `kubectl create
 * job --from=cronjob/...` makes) from the CronJob the TrainingPipeline synthesizes, with what the
 * API server adds before validating admission (Job defaults, generated selector and pod labels,
 * the CronJob's uid).
 */

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;

const b = buildMonitor(({ pipeline }) => ({ retrain: pipeline }));
const policy = one(b.all, 'ValidatingAdmissionPolicy');
const binding = one(b.all, 'ValidatingAdmissionPolicyBinding');
const storedCronJob: Obj = { ...clone(one(b.all, 'CronJob', 'fraud-train')), metadata: { ...clone(one(b.all, 'CronJob', 'fraud-train').metadata), uid: '6f1d2c3b-cronjob-uid' } };
const MONITOR_USER = 'system:serviceaccount:acme-ml-monitoring:fraud-drift';

/** What the API server does to a Job before validating admission (defaults, selector, pod labels). */
function asPersisted(job: Obj): Obj {
  const j = clone(job);
  const s = j.spec;
  if (s.completions === undefined && s.parallelism === undefined) {
    s.completions = 1;
    s.parallelism = 1;
  }
  s.parallelism ??= 1;
  s.backoffLimit ??= 6;
  s.completionMode ??= 'NonIndexed';
  s.suspend ??= false;
  s.podReplacementPolicy ??= 'TerminatingOrFailed';
  const uid = 'a1b2c3d4-job-uid';
  if (!s.manualSelector) {
    s.selector = { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } };
    s.template.metadata = s.template.metadata ?? {};
    s.template.metadata.labels = { ...s.template.metadata.labels, 'batch.kubernetes.io/controller-uid': uid, 'batch.kubernetes.io/job-name': j.metadata.name, 'controller-uid': uid, 'job-name': j.metadata.name };
  }
  return j;
}

/** The Job the monitor's runtime creates for an episode. */
function retrainJob(): Obj {
  return asPersisted(jobFromCronJob(storedCronJob as never, retrainJobName('fraud-train', 'dataset_drift-v7-2025-06-02T09:00:00.000Z'), {
    'cdk-mlops.io/trigger': 'dataset_drift',
    'cdk-mlops.io/episode': 'dataset_drift-v7-2025-06-02T09:00:00.000Z',
  }) as Obj);
}

interface Decision { matched: boolean; allowed: boolean; messages: string[] }

/** Admission of a CREATE of `job` in `namespace` by `username`. */
function admit(job: Obj, username = MONITOR_USER, namespace = 'acme-ml-training', params: Obj | null = storedCronJob): Decision {
  const rule = policy.spec.matchConstraints.resourceRules[0];
  const resourceMatches = rule.operations.includes('CREATE') && rule.apiGroups.includes('batch') && rule.apiVersions.includes('v1') && rule.resources.includes('jobs');
  const nsMatches = binding.spec.matchResources.namespaceSelector.matchLabels['kubernetes.io/metadata.name'] === namespace;
  const request = { operation: 'CREATE', namespace, userInfo: { username }, resource: { group: 'batch', version: 'v1', resource: 'jobs' } };
  const object = { ...job, metadata: { ...job.metadata, namespace } };
  if (!resourceMatches || !nsMatches) return { matched: false, allowed: true, messages: [] };
  for (const c of policy.spec.matchConditions) {
    if (evaluate(c.expression, { request, object }) !== true) return { matched: false, allowed: true, messages: [] };
  }
  if (params === null) {
    // parameterNotFoundAction: Deny
    return { matched: true, allowed: binding.spec.paramRef.parameterNotFoundAction !== 'Deny', messages: ['no params'] };
  }
  const variables: Record<string, unknown> = {};
  for (const x of policy.spec.variables) variables[x.name] = evaluate(x.expression, { request, object, params, variables });
  const messages = policy.spec.validations
    .filter((x: Obj) => evaluate(x.expression, { request, object, params, variables }) !== true)
    .map((x: Obj) => x.message as string);
  return { matched: true, allowed: messages.length === 0, messages };
}

describe('retraining admission policy (ValidatingAdmissionPolicy, admissionregistration.k8s.io/v1)', () => {
  test('the policy reads the training CronJob as its parameter and applies to the monitor only', () => {
    expect(policy.apiVersion).toBe('admissionregistration.k8s.io/v1');
    expect(policy.spec.paramKind).toEqual({ apiVersion: 'batch/v1', kind: 'CronJob' });
    expect(policy.spec.failurePolicy).toBe('Fail');
    expect(policy.spec.matchConditions).toEqual([{ name: 'requested-by-the-drift-monitor', expression: `request.userInfo.username == '${MONITOR_USER}'` }]);
    expect(binding.spec).toEqual({
      policyName: policy.metadata.name,
      validationActions: ['Deny'],
      paramRef: { name: 'fraud-train', namespace: 'acme-ml-training', parameterNotFoundAction: 'Deny' },
      matchResources: { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'acme-ml-training' } } },
    });
  });

  test("admits the Job the monitor's runtime creates from the CronJob (after the API server's defaults)", () => {
    const job = retrainJob();
    expect(job.spec.template.spec).toEqual(storedCronJob.spec.jobTemplate.spec.template.spec);
    expect(admit(job)).toEqual({ matched: true, allowed: true, messages: [] });
  });

  test('admits it also when Kueue has suspended it (suspend is not part of the template)', () => {
    const job = retrainJob();
    job.spec.suspend = true;
    expect(admit(job).allowed).toBe(true);
  });

  const POD = 'the pod spec of a Job created by the drift monitor must equal the job template of CronJob acme-ml-training/fraud-train';
  const OWNER = 'a Job created by the drift monitor must have exactly one owner: the controller reference to CronJob acme-ml-training/fraud-train';
  const MANUAL = "a Job created by the drift monitor must be a manual instantiation of CronJob acme-ml-training/fraud-train named 'fraud-train-retrain-...'";
  const LABELS = 'a Job created by the drift monitor must carry the labels and annotations of the job template of CronJob acme-ml-training/fraud-train';
  const SETTINGS = 'a Job created by the drift monitor must keep the Job settings of the job template of CronJob acme-ml-training/fraud-train (parallelism, completions, deadlines, backoff, TTL, no manual selector)';

  test.each<[string, (j: Obj) => void, string]>([
    ['another image', (j) => { j.spec.template.spec.containers[0].image = 'attacker.example/miner:1'; }, POD],
    ['other arguments', (j) => { j.spec.template.spec.containers[0].args = ['sh', '-c', 'curl x']; }, POD],
    ['an extra environment variable', (j) => { j.spec.template.spec.containers[0].env.push({ name: 'X', value: '1' }); }, POD],
    ['a second container', (j) => { j.spec.template.spec.containers.push({ ...j.spec.template.spec.containers[0], name: 'side' }); }, POD],
    ['another ServiceAccount', (j) => { j.spec.template.spec.serviceAccountName = 'fraud-drift'; }, POD],
    ['a privileged container', (j) => { j.spec.template.spec.containers[0].securityContext.privileged = true; }, POD],
    ['a hostPath volume', (j) => { j.spec.template.spec.volumes.push({ name: 'host', hostPath: { path: '/' } }); }, POD],
    ['no owner reference', (j) => { delete j.metadata.ownerReferences; }, OWNER],
    ['an owner reference to another CronJob', (j) => { j.metadata.ownerReferences[0].name = 'other'; }, OWNER],
    ['the uid of a deleted and re-created CronJob', (j) => { j.metadata.ownerReferences[0].uid = 'old-uid'; }, OWNER],
    ['a non-controller owner reference', (j) => { j.metadata.ownerReferences[0].controller = false; }, OWNER],
    ['two owner references', (j) => { j.metadata.ownerReferences.push({ ...j.metadata.ownerReferences[0] }); }, OWNER],
    ['no instantiate annotation', (j) => { delete j.metadata.annotations['cronjob.kubernetes.io/instantiate']; }, MANUAL],
    ['a name that is not <cronjob>-retrain-...', (j) => { j.metadata.name = 'fraud-train-evil'; }, MANUAL],
    ['a template label dropped from the Job', (j) => { delete j.metadata.labels['app.kubernetes.io/name']; }, LABELS],
    ['a template label changed on the pods', (j) => { j.spec.template.metadata.labels['app.kubernetes.io/name'] = 'x'; }, LABELS],
    ['the config checksum annotation dropped from the pods', (j) => { delete j.spec.template.metadata.annotations['cdk-mlops.io/config-checksum']; }, LABELS],
    ['parallelism 8', (j) => { j.spec.parallelism = 8; }, SETTINGS],
    ['completions 5', (j) => { j.spec.completions = 5; }, SETTINGS],
    ['another backoff limit', (j) => { j.spec.backoffLimit = 100; }, SETTINGS],
    ['no deadline', (j) => { delete j.spec.activeDeadlineSeconds; }, SETTINGS],
    ['a manual selector', (j) => { j.spec.manualSelector = true; }, SETTINGS],
  ])('denies a Job with %s', (_what, tamper, message) => {
    const job = retrainJob();
    tamper(job);
    const d = admit(job);
    expect(d.matched).toBe(true);
    expect(d.allowed).toBe(false);
    expect(d.messages).toContain(message);
  });

  test('denies everything while the CronJob does not exist (parameterNotFoundAction: Deny)', () => {
    expect(admit(retrainJob(), MONITOR_USER, 'acme-ml-training', null)).toMatchObject({ matched: true, allowed: false });
  });

  test('does not apply to other users (the CronJob controller, people) nor to other namespaces', () => {
    const tampered = retrainJob();
    tampered.spec.template.spec.containers[0].image = 'anything:1';
    expect(admit(tampered, 'system:serviceaccount:kube-system:cronjob-controller').matched).toBe(false);
    expect(admit(tampered, 'alice@example.com').matched).toBe(false);
    expect(admit(tampered, MONITOR_USER, 'acme-ml-serving').matched).toBe(false);
  });

  test('parallelism and completions: a template that sets them is matched exactly', () => {
    const params = clone(storedCronJob);
    params.spec.jobTemplate.spec.parallelism = 4;
    params.spec.jobTemplate.spec.completions = 4;
    const job = asPersisted(jobFromCronJob(params as never, 'fraud-train-retrain-1', {}) as Obj);
    expect(admit(job, MONITOR_USER, 'acme-ml-training', params).allowed).toBe(true);
    job.spec.parallelism = 5;
    expect(admit(job, MONITOR_USER, 'acme-ml-training', params).messages).toEqual([SETTINGS]);
  });
});
