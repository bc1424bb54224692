import { buildTestApp, fixtureBytes, registerFixture, tabularReference, testConfig } from './support/fixtures';
import { openRegistry } from '../../../src/runtime/registry/registry';
import { FakeS3 } from '../../support/fake-s3';

/** The registry on S3 (an S3 stand-in on loopback): serve loads from it, and refuses a tampered artefact. */
describe('serve: models from an S3 registry', () => {
  const fake = new FakeS3(['models']);
  beforeAll(async () => {
    await fake.start();
  });
  afterAll(async () => fake.stop());

  test('loads the alias target from S3, answers as in process; a tampered artefact is refused at start', async () => {
    const uri = 's3://models/registry';
    const registry = openRegistry(uri, { s3: fake.s3Options });
    await registerFixture(registry, 'tabular', 'tabular-mlp.onnx');
    await registry.setAlias('tabular', 'prod', 1, 'jest');
    const t = await buildTestApp(testConfig(uri, { models: [{ name: 'tabular', ref: 'prod' }] }), registry);
    try {
      const ref = tabularReference();
      const r = await t.app.inject({
        method: 'POST',
        url: '/v2/models/tabular/infer',
        headers: { 'content-type': 'application/json' },
        payload: { inputs: [{ name: 'input', shape: [20, 30], datatype: 'FP32', data: ref.rows }], outputs: [{ name: 'label' }] },
      });
      expect(r.statusCode).toBe(200);
      expect(r.json().outputs[0].data).toEqual(ref.models['tabular-mlp.onnx'].labels);
    } finally {
      await t.close();
    }
    const tampered = Buffer.from(fixtureBytes('tabular-mlp.onnx'));
    tampered[tampered.length - 10] ^= 0x01;
    fake.putObject('models', 'registry/models/tabular/versions/1/model.onnx', tampered);
    await expect(buildTestApp(testConfig(uri, { models: [{ name: 'tabular', ref: 'prod' }] }), registry)).rejects.toThrow(/model 'tabular' \(ref "prod"\): .*sha256/);
  });
});
