import * as path from 'node:path';
import { IConstruct } from 'constructs';
import { FileBase, IResolver, JsonFile, TextFile, javascript, typescript } from 'projen';
import * as YAML from 'yaml';
import { PINNED_ACTIONS } from './actions';
import { appObjects, argoCdValues, ArgoCdSettings, bootstrapObjects, ClusterAddon, ClusterResource, deployBranch, resolveAddons } from './argocd';
import { environmentProblems, GitOpsEnvironment } from './environments';
import { codeOwnersLines, ownerProblems, pullRequestTemplateLines } from './review';
import { deployWorkflow, promoteWorkflow, pullRequestWorkflow, WorkflowSettings } from './workflows';
import { DEFAULT_PINS_FILE } from '../promote/pins';

/** Options of {@link MlopsGitOpsProject}. */
export interface MlopsGitOpsProjectOptions extends Omit<typescript.TypeScriptProjectOptions, 'name' | 'defaultReleaseBranch'> {
  /** The platform's name (MlPlatform's `platformName`): names the Argo CD projects and applications. */
  readonly platformName: string;
  /**
   * The environments in promotion order. Keep them in `src/environments.ts` and import them
   * here and in the platform program, so they are declared once.
   */
  readonly environments: GitOpsEnvironment[];
  /** The Git URL Argo CD reads this repository from (`https://github.com/acme/ml-platform.git`). */
  readonly repositoryUrl: string;
  /** Owners of the repository in CODEOWNERS (`@org/team`, `@user`). */
  readonly codeOwners: string[];
  /**
   * Additional owners of the pins file (model promotions), beside `codeOwners`.
   * @default - only `codeOwners`
   */
  readonly modelOwners?: string[];
  /** @default - `platformName` */
  readonly name?: string;
  /** The branch pull requests target and deploys run from. @default 'main' */
  readonly defaultReleaseBranch?: string;
  /**
   * Version spec of cdk-mlops in package.json.
   * @default - `^` and the version of the cdk-mlops that runs this project
   */
  readonly cdkMlopsVersion?: string;
  /** The platform program. @default 'src/main.ts' */
  readonly app?: string;
  /** The model pins file `cdk-mlops promote` edits. @default 'pins.json' */
  readonly pinsFile?: string;
  /** Terraform version of the workflows. @default '1.12.2' */
  readonly terraformVersion?: string;
  /** Node.js major version of the workflows. @default '20' */
  readonly nodeVersion?: string;
  /** Prefix of the branches the deploy workflow moves and Argo CD syncs. @default 'deploy/' */
  readonly deployBranchPrefix?: string;
  /** Namespace of Argo CD. @default 'argocd' */
  readonly argoCdNamespace?: string;
  /** Version of the Argo CD Helm chart in the bootstrap instructions. @default '8.6.0' */
  readonly argoCdChartVersion?: string;
  /**
   * What the cluster plane needs installed in each cluster (operators and their CRDs), synced in
   * the add-ons wave. External Secrets Operator (the handoff channel) is always added, unless
   * given here with another version (`ClusterAddon.externalSecrets({ version })`).
   * @default [] - External Secrets Operator only
   */
  readonly addons?: ClusterAddon[];
  /** The cluster the applications deploy to. @default 'https://kubernetes.default.svc' (Argo CD's own) */
  readonly argoCdDestinationServer?: string;
  /**
   * Cluster-scoped kinds the applications may create beyond the defaults (namespaces, CRDs,
   * cluster RBAC, validating webhooks, ClusterSecretStore).
   * @default []
   */
  readonly argoCdClusterResources?: ClusterResource[];
}

/** Version of this package (what `cdkMlopsVersion` defaults to). */
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const CDK_MLOPS_VERSION: string = (require(path.join(__dirname, '..', '..', 'package.json')) as { version: string }).version;

/** Version of projen running this project (the generated repository's projen pin). */
function projenVersion(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('projen/package.json') as { version: string }).version;
}

/**
 * A YAML file of one or more documents, with the projen marker, where each `uses:` of a
 * pinned action carries its release as a comment (`@<sha> # v4.3.0`).
 */
export class ManagedYamlFile extends FileBase {
  private readonly documents: () => unknown[];

  constructor(scope: IConstruct, filePath: string, documents: () => unknown[]) {
    super(scope, filePath, { marker: true });
    this.documents = documents;
  }

  protected synthesizeContent(resolver: IResolver): string | undefined {
    const versions = new Map<string, string>(Object.values(PINNED_ACTIONS).map((a) => [`${a.repo}@${a.sha}`, a.version]));
    const docs = this.documents().map((d) => {
      const doc = new YAML.Document(resolver.resolve(d));
      YAML.visit(doc, {
        Scalar(_key, node) {
          const version = typeof node.value === 'string' ? versions.get(node.value) : undefined;
          if (version) node.comment = ` ${version}`;
        },
      });
      return doc.toString({ lineWidth: 0 });
    });
    return `${this.marker ? `# ${this.marker}\n\n` : ''}${docs.join('---\n')}`;
  }
}

/**
 * A GitOps repository for a cdk-mlops platform, as a projen project: the platform program in
 * `src/main.ts` (written once by `cdk-mlops init`, then yours), the synthesized `dist/`
 * committed beside it, and the files this project type keeps up to date:
 *
 * - `.github/workflows/pull-request.yml`, `deploy.yml`, `promote.yml`;
 * - `argocd/`: the Argo CD bootstrap of each environment (app of apps with sync waves) and
 *   the values of Argo CD itself;
 * - `.github/CODEOWNERS`, `.github/pull_request_template.md`;
 * - `cdk-mlops.json` (the program and the pins file for the `cdk-mlops` command);
 * - the tasks `synth` (writes dist/), `dist:check` (fails when dist/ is stale), `diff`,
 *   `promote`; `build` synthesizes dist/ after compiling.
 *
 * ```ts
 * // .projenrc.ts
 * import { MlopsGitOpsProject } from 'cdk-mlops/lib/projen';
 * import { environments } from './src/environments';
 *
 * new MlopsGitOpsProject({
 *   platformName: 'acme-ml',
 *   environments,
 *   repositoryUrl: 'https://github.com/acme/ml-platform.git',
 *   codeOwners: ['@acme/ml-platform'],
 * }).synth();
 * ```
 */
export class MlopsGitOpsProject extends typescript.TypeScriptProject {
  public readonly platformName: string;
  public readonly environments: readonly GitOpsEnvironment[];
  public readonly pinsFile: string;
  public readonly app: string;
  /** Settings the workflows were rendered with. */
  public readonly workflowSettings: WorkflowSettings;
  /** Settings the Argo CD bootstrap was rendered with. */
  public readonly argoCdSettings: ArgoCdSettings;
  public readonly argoCdChartVersion: string;

  constructor(options: MlopsGitOpsProjectOptions) {
    const problems = [
      ...(typeof options.platformName === 'string' && /^[a-z0-9]([a-z0-9-]{0,18}[a-z0-9])?$/.test(options.platformName) ? []
        : [`platformName: ${JSON.stringify(options.platformName)} is not a platform name; expected a DNS-1123 label of at most 20 characters`]),
      ...environmentProblems(options.environments),
      ...(typeof options.repositoryUrl === 'string' && /^(https:\/\/|ssh:\/\/|git@)\S+$/.test(options.repositoryUrl) ? []
        : [`repositoryUrl: ${JSON.stringify(options.repositoryUrl)} is not a Git URL; expected https://..., ssh://... or git@host:org/repo.git`]),
      ...ownerProblems('codeOwners', options.codeOwners),
      ...(options.modelOwners === undefined ? [] : ownerProblems('modelOwners', options.modelOwners)),
      ...(options.addons ?? []).flatMap((a) => (a instanceof ClusterAddon ? a.problems() : ['addons: expected ClusterAddon objects (ClusterAddon.helm(...), ...)'])),
    ];
    if (problems.length) throw new Error(`MlopsGitOpsProject: invalid options:\n  - ${problems.join('\n  - ')}`);

    const defaultBranch = options.defaultReleaseBranch ?? 'main';
    const cdkMlopsVersion = options.cdkMlopsVersion ?? `^${CDK_MLOPS_VERSION}`;
    super({
      packageManager: javascript.NodePackageManager.NPM,
      projenrcTs: true,
      github: false,
      sampleCode: false,
      eslint: false,
      package: false,
      npmignoreEnabled: false,
      release: false,
      buildWorkflow: false,
      depsUpgrade: false,
      licensed: false,
      entrypoint: '',
      minNodeVersion: '20.0.0',
      typescriptVersion: '~5.9',
      projenVersion: projenVersion(),
      ...options,
      name: options.name ?? options.platformName,
      defaultReleaseBranch: defaultBranch,
      deps: [`cdk-mlops@${cdkMlopsVersion}`, ...(options.deps ?? [])],
      devDeps: ['ts-node@^10.9.2', '@types/node@^20', 'yaml@^2.8.0', ...(options.devDeps ?? [])],
      tsconfig: {
        ...options.tsconfig,
        compilerOptions: { lib: ['es2022'], target: 'ES2022', skipLibCheck: true, ...options.tsconfig?.compilerOptions },
      },
      jestOptions: {
        jestVersion: '^30',
        updateSnapshot: javascript.UpdateSnapshot.NEVER,
        ...options.jestOptions,
        jestConfig: { testTimeout: 120_000, ...options.jestOptions?.jestConfig },
      },
    });
    this.package.addField('private', true);
    this.package.file.addDeletionOverride('publishConfig');

    this.platformName = options.platformName;
    this.environments = options.environments;
    this.pinsFile = options.pinsFile ?? DEFAULT_PINS_FILE;
    this.app = options.app ?? 'src/main.ts';

    // dist/ is the rendered manifests: committed. What Terraform writes beside them is not.
    this.gitignore.removePatterns('/dist/');
    for (const p of ['/.cdk-mlops/', '/dist/*/terraform/.terraform/', '/dist/*/terraform/.terraform.lock.hcl', '*.tfstate', '*.tfstate.*', '*.tfplan', 'tfplan']) {
      this.gitignore.exclude(p);
    }

    new JsonFile(this, 'cdk-mlops.json', {
      obj: { app: this.app, pins: this.pinsFile, environments: this.environments.map((e) => e.name) },
      marker: true,
    });

    // ---- tasks ----
    const synth = this.addTask('synth', {
      description: 'Synthesize the platform program into dist/<env>/ (commit the result)',
      exec: 'cdk-mlops synth',
      receiveArgs: true,
    });
    this.postCompileTask.spawn(synth);
    const check = this.addTask('dist:check', { description: 'Fail when the committed dist/ does not match the platform program (writes nothing in dist/)' });
    check.exec('rm -rf .cdk-mlops/dist-check');
    check.exec('cdk-mlops synth --quiet --out .cdk-mlops/dist-check');
    check.say("Comparing the committed dist/ with what the program synthesizes; on a difference, run 'npx projen synth' and commit dist/");
    // exit 1 (and the changes, field by field) when they differ
    check.exec('cdk-mlops diff --base-dir dist --head .cdk-mlops/dist-check --detail fields --no-color');
    check.exec('rm -rf .cdk-mlops/dist-check');
    this.addTask('diff', {
      description: 'Synthesize and show what changes against the dist/ committed at HEAD (pass --base <ref> for another base)',
      exec: 'cdk-mlops diff --synth',
      receiveArgs: true,
    });
    this.addTask('promote', {
      description: `Pin a model version for an environment in ${this.pinsFile} (e.g. npx projen promote churn --from staging --to prod)`,
      exec: 'cdk-mlops promote',
      receiveArgs: true,
    });

    // ---- workflows ----
    this.workflowSettings = {
      environments: this.environments,
      defaultBranch,
      nodeVersion: options.nodeVersion ?? '20',
      terraformVersion: options.terraformVersion ?? '1.12.2',
      pinsFile: this.pinsFile,
      deployBranchPrefix: options.deployBranchPrefix ?? 'deploy/',
    };
    const ws = this.workflowSettings;
    new ManagedYamlFile(this, '.github/workflows/pull-request.yml', () => [pullRequestWorkflow(ws)]);
    new ManagedYamlFile(this, '.github/workflows/deploy.yml', () => [deployWorkflow(ws)]);
    new ManagedYamlFile(this, '.github/workflows/promote.yml', () => [promoteWorkflow(ws)]);

    // ---- review ----
    new TextFile(this, '.github/CODEOWNERS', {
      lines: [`# ${PROJEN_MARKER_LINE}`, ...codeOwnersLines({ owners: options.codeOwners, modelOwners: options.modelOwners ?? [], pinsFile: this.pinsFile })],
    });
    new TextFile(this, '.github/pull_request_template.md', { lines: pullRequestTemplateLines(this.pinsFile) });

    // ---- Argo CD ----
    this.argoCdChartVersion = options.argoCdChartVersion ?? '8.6.0';
    this.argoCdSettings = {
      platformName: this.platformName,
      environments: this.environments,
      repositoryUrl: options.repositoryUrl,
      deployBranchPrefix: ws.deployBranchPrefix,
      namespace: options.argoCdNamespace ?? 'argocd',
      destinationServer: options.argoCdDestinationServer ?? 'https://kubernetes.default.svc',
      addons: resolveAddons(options.addons ?? []),
      clusterResources: options.argoCdClusterResources ?? [],
    };
    const as = this.argoCdSettings;
    new ManagedYamlFile(this, 'argocd/values.yaml', () => [argoCdValues()]);
    for (const env of this.environments) {
      new ManagedYamlFile(this, `argocd/${env.name}/bootstrap.yaml`, () => bootstrapObjects(as, env));
      for (const [file, obj] of Object.entries(appObjects(as, env))) {
        new ManagedYamlFile(this, `argocd/${env.name}/apps/${file}`, () => [obj]);
      }
    }
    new TextFile(this, 'argocd/README.md', { lines: argoCdReadmeLines(as, this.argoCdChartVersion) });
  }
}

const PROJEN_MARKER_LINE = '~~ Generated by projen. To modify, edit .projenrc.ts and run "npx projen".';

/** `argocd/README.md`: how Argo CD and the bootstrap get into each environment's cluster. */
export function argoCdReadmeLines(s: ArgoCdSettings, argoCdChartVersion: string): string[] {
  const lines = [
    `<!-- ${PROJEN_MARKER_LINE} -->`,
    '# Argo CD bootstrap',
    '',
    'Argo CD syncs the cluster plane (`dist/<env>/k8s`) of each environment from the branch',
    `\`${s.deployBranchPrefix}<env>\`, which the deploy workflow moves once \`terraform apply\` succeeded for that`,
    'environment: the cluster plane never runs ahead of the cloud plane it needs, and both pass the',
    "same approval. Each environment's cluster runs its own Argo CD, installed once with Helm:",
    'after that, everything comes from this repository.',
    '',
    '| wave | application | syncs |',
    '| ---: | --- | --- |',
    '| -3 | `<platform>-<env>` (AppProject) | what the applications below may create |',
    ...(s.addons.some((a) => a.isOci) ? ['| -3 | `repository-<add-on>.yaml` (Secret) | the OCI registry of an add-on\'s chart, for Argo CD: no credentials (public registry) |'] : []),
    ...s.addons.map((a) => {
      const src = a.spec.source as { chart?: string; path?: string; repoURL: string; targetRevision: string };
      const what = src.chart ? `Helm chart \`${src.chart}\` ${src.targetRevision} (${a.spec.repoURL})` : `\`${src.path}\` of ${a.spec.repoURL} at ${src.targetRevision}`;
      const crds = a.spec.apiGroups.length ? `; CRDs of ${a.spec.apiGroups.map((g) => `\`${g}\``).join(', ')}` : '';
      return `| -2 | \`<platform>-<env>-${a.spec.name}\` | ${what}${a.spec.namespace ? ` in namespace \`${a.spec.namespace}\`` : ''}${crds} |`;
    }),
    '| -1 | `<platform>-<env>-platform` | `dist/<env>/k8s/platform.yaml`: namespaces, quotas, default-deny policies, the handoff secret store |',
    '| 0 | `<platform>-<env>-workloads` | the other files of `dist/<env>/k8s` |',
    '',
    'The root application waits for each wave to be healthy before the next because',
    '`values.yaml` gives Argo CD a health check for Application objects.',
    '',
  ];
  for (const env of s.environments) {
    const cluster = `${s.platformName}-${env.name}`;
    lines.push(
      `## ${env.name}`,
      '',
      `Once, after the first deploy of \`${env.name}\` created the cluster \`${cluster}\` (account ${env.account}, ${env.region}),`,
      'from a machine that reaches its API endpoint (private by default: a bastion, VPN or CloudShell in the VPC),',
      'with a role in the cluster admins:',
      '',
      '```sh',
      `aws eks update-kubeconfig --name ${cluster} --region ${env.region}`,
      'helm repo add argo https://argoproj.github.io/argo-helm',
      `helm upgrade --install argocd argo/argo-cd --version ${argoCdChartVersion} \\`,
      `  --namespace ${s.namespace} --create-namespace --values argocd/values.yaml`,
      `kubectl apply -f argocd/${env.name}/bootstrap.yaml`,
      '```',
      '',
      `Automated sync: prune ${env.prune ?? true ? 'on' : 'off (removals wait for a manual sync with prune)'}, self-heal ${env.selfHeal ?? true ? 'on' : 'off'}.`,
      `The root application \`${cluster}-root\` follows \`${deployBranch(s, env.name)}\` and manages \`argocd/${env.name}/apps\`.`,
      '',
    );
  }
  lines.push(
    ...(s.addons.some((a) => a.isOci) ? [
      '`bootstrap.yaml` lets the root application write Secrets in the Argo CD namespace only because an add-on',
      'comes from an OCI registry (its repository declaration): after adding the first such add-on to an',
      'environment that is already bootstrapped, apply its `bootstrap.yaml` again.',
      '',
    ] : []),
    '## Repository access',
    '',
    `If \`${s.repositoryUrl}\` is private, give Argo CD read access once per cluster: a GitHub App or a`,
    'read-only deploy key, declared as a Secret labelled `argocd.argoproj.io/secret-type: repository`',
    '(see https://argo-cd.readthedocs.io/en/stable/operator-manual/declarative-setup/#repositories).',
    'Never commit the key to this repository.',
    '',
    '## Upgrading Argo CD',
    '',
    'Run the same `helm upgrade --install` with the new chart version (and update `argoCdChartVersion`',
    'in `.projenrc.ts` so that this page says so).',
    '',
  );
  return lines;
}
