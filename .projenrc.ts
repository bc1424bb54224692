import { JsonFile, javascript, typescript } from 'projen';

/**
 * cdk-mlops: the project definition. package.json, tsconfig*.json, the jest and
 * eslint configuration are generated from this file: edit it, then run `npx projen`.
 */
const project = new typescript.TypeScriptProject({
  name: 'cdk-mlops',
  description: 'An MLOps platform as code: cdktf + cdk8s constructs, one runtime image (train, serve, monitor, features) and a GitOps template.',
  license: 'Apache-2.0',
  copyrightOwner: 'cdk-mlops authors',
  authorName: 'cdk-mlops authors',
  defaultReleaseBranch: 'main',
  projenrcTs: true,
  packageManager: javascript.NodePackageManager.NPM,
  minNodeVersion: '20.19.0',
  typescriptVersion: '~5.9',
  github: false,
  release: false,
  depsUpgrade: false,
  buildWorkflow: false,
  pullRequestTemplate: false,
  sampleCode: false,
  entrypoint: 'lib/index.js',
  bin: { 'cdk-mlops': 'bin/cdk-mlops' },
  deps: [
    'cdktf@0.21.0',
    '@cdktf/provider-aws@^21.22.1',
    'cdk8s@^2.70.0',
    'cdk8s-plus-33@^2.5.57',
    'constructs@^10.4.2',
    'yaml@^2.8.0',
    'zod@^4.1.0',
    'onnxruntime-node@^1.30.0',
    'fastify@^5.6.0',
    'prom-client@^15.1.3',
    'pino@^10.0.0',
    'ioredis@^5.9.2',
    'hyparquet@^1.31.5',
    'hyparquet-writer@^0.17.0',
    '@duckdb/node-api@1.5.6-r.1',
    '@aws-sdk/client-s3@^3.900.0',
    '@aws-sdk/client-dynamodb@^3.900.0',
    'protobufjs@^7.5.0',
  ],
  // The GitOps project type (cdk-mlops/lib/projen, used by generated repositories' .projenrc.ts)
  // builds on projen; the constructs and the runtime never load it.
  peerDeps: ['projen@^0.103.25'],
  peerDependencyOptions: { pinnedDevDependency: false },
  devDeps: [
    '@types/node@^20',
    'kubernetes-models@^4.5.1',
    '@kubernetes-models/argo-rollouts@0.3.2',
    '@kubernetes-models/gateway-api@0.5.1',
    '@kubernetes-models/keda@0.4.2',
    '@kubernetes-models/prometheus-operator@4.4.4',
    '@kubernetes-models/argo-cd@2.7.2',
    '@kubernetes-models/external-secrets@0.5.2',
    'autocannon@^8.0.0',
    'ajv@^8.17.1',
    '@marcbachmann/cel-js@8.0.0',
    'dynalite@^4.0.0',
  ],
  tsconfig: {
    compilerOptions: {
      lib: ['es2022'],
      target: 'ES2022',
      skipLibCheck: true,
      esModuleInterop: true,
      noUnusedLocals: true,
      noUnusedParameters: true,
    },
  },
  jestOptions: {
    updateSnapshot: javascript.UpdateSnapshot.NEVER,
    jestConfig: {
      // node, plus the host's typed-array constructors, which onnxruntime-node's outputs need.
      testEnvironment: '<rootDir>/test/support/ort-environment.ts',
      testTimeout: 60_000,
      testMatch: ['<rootDir>/test/**/*.test.ts'],
      globalSetup: '<rootDir>/test/setup/global-setup.ts',
      globalTeardown: '<rootDir>/test/setup/global-teardown.ts',
      // hyparquet, hyparquet-writer, cookie 2 (used by fastify.inject through light-my-request) and cel-js
      // ship as ES modules only: Node >= 20.19 can require() them, but jest loads modules itself,
      // so they are compiled to CommonJS for the tests.
      transform: {
        '^.+\\.js$': new javascript.Transform('ts-jest', {
          tsconfig: { allowJs: true, module: 'commonjs', target: 'ES2022', esModuleInterop: true, isolatedModules: true },
        }),
      },
      transformIgnorePatterns: ['/node_modules/(?!(hyparquet|hyparquet-writer|cookie|@marcbachmann/cel-js)/)'],
    },
  },
  gitignore: ['/dist/', '/.cdk-mlops/', '*.tgz', '/bench/results/'],
  npmIgnoreOptions: { ignorePatterns: ['/examples/', '/bench/', '/.ci/'] },
});

// ts-jest transpiles each test file on its own (fast) when the tsconfig it uses says isolatedModules.
project.tryFindObjectFile('test/tsconfig.json')?.addOverride('compilerOptions.isolatedModules', true);

// One tsconfig that type-checks everything (src, test, bench, examples, templates' TypeScript):
// ts-jest runs with isolatedModules for speed, so it does not type-check on its own.
new JsonFile(project, 'tsconfig.check.json', {
  obj: {
    extends: './tsconfig.json',
    // Examples import 'cdk-mlops' as a user's program does; \`cdk-mlops synth\` resolves it to this package.
    compilerOptions: { noEmit: true, rootDir: '.', baseUrl: '.', paths: { 'cdk-mlops': ['./src/index.ts'], 'cdk-mlops/*': ['./*'] } },
    include: ['src/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts', 'examples/**/*.ts'],
    exclude: ['node_modules'],
  },
});
// `npm test` compiles src/ to lib/ first (the CLI tests spawn the compiled `cdk-mlops`), then
// type-checks the rest, then runs jest and eslint.
project.testTask.prependExec('tsc --noEmit -p tsconfig.check.json');
project.testTask.prependSpawn(project.compileTask);

// Numeric code (CIDR math, hashing, sketches, protobuf) needs bitwise operators; long test
// tables and messages read better on one line.
project.eslint?.addRules({
  'no-bitwise': 'off',
  '@stylistic/max-len': ['error', { code: 200, ignoreUrls: true, ignoreStrings: true, ignoreTemplateLiterals: true, ignoreRegExpLiterals: true, ignoreComments: true }],
});

// The README's first quick-start command runs this: build, synthesize the showcase platform (dev
// and prod) into dist/, then run its whole loop on this machine once (train, serve, drift,
// retrain, promote) and print the summary.
const demo = project.addTask('demo', { description: 'Build, synthesize the showcase platform into dist/, and run its loop locally once' });
demo.spawn(project.compileTask);
demo.exec('node bin/cdk-mlops synth --app examples/breast-cancer/main.ts --out dist');
demo.exec('node bin/cdk-mlops up --app examples/breast-cancer/main.ts --once --fresh');

project.addTask('bench:synth', { description: 'Benchmark: synthesis time and memory, 1 to 100 endpoint groups vs plain cdktf + cdk8s', exec: 'tsc --build && ts-node --transpile-only bench/synth/index.ts' });

// The release version; the runtime image the constructs reference by default carries the same tag
// (src/constructs/runtime-image.ts RUNTIME_VERSION, checked by a test).
project.package.addVersion('0.1.0');

project.addTask('bench:features', { description: 'Feature store benchmark: online lookups vs naive clients, materialization rows/s (local Redis)', exec: 'ts-node --transpile-only bench/features/index.ts' });
project.addTask('bench:train', { description: 'Training benchmark: built-in logistic regression vs scikit-learn lbfgs on 1,000,000 x 30 synthetic rows (time ratio, ROC AUC)', exec: 'ts-node --transpile-only bench/train/index.ts', receiveArgs: true });
project.addTask('bench:diff', { description: 'cdk-mlops diff benchmark: diff of two dist trees (small, large) vs parse only and git diff --no-index', exec: 'ts-node --transpile-only bench/diff/index.ts' });
project.addTask('bench:drift', { description: 'Drift benchmark: streaming drift statistics vs NumPy/SciPy on 10,000,000 x 20 generated rows (rows/s, peak RSS at 1M vs 10M)', exec: 'ts-node --transpile-only bench/drift/index.ts', receiveArgs: true });
project.addTask('bench:serve', { description: 'Serving benchmark: bare node:http + session.run vs cdk-mlops serve with batching off and on, concurrency 1 and 64 (autocannon)', exec: 'ts-node --transpile-only bench/serve/index.ts' });
project.package.addField('peerDependenciesMeta', { projen: { optional: true } });
project.synth();
