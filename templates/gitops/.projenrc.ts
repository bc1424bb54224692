import { MlopsGitOpsProject } from 'cdk-mlops/lib/projen';
import { environments, PLATFORM_NAME } from './src/environments';

/**
 * The repository's definition. package.json, the workflows, the Argo CD bootstrap, CODEOWNERS
 * and the pull-request template are generated from it: edit this file, then run `npx projen`.
 * Environments are declared once, in src/environments.ts.
 */
const project = new MlopsGitOpsProject({
  platformName: PLATFORM_NAME,
  environments,
  repositoryUrl: {{repositoryUrl}},
  codeOwners: {{codeOwners}},
  cdkMlopsVersion: {{cdkMlopsVersion}},
});

project.synth();
