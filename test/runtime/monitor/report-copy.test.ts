import * as fs from 'node:fs';
import * as path from 'node:path';
import { testConfig, tmpDir } from './support';
import { parseConfig } from '../../../src/runtime/config/load';
import { MonitorConfigSchema } from '../../../src/runtime/config/monitor';
import { publishReports } from '../../../src/runtime/monitor/monitor';

describe('reports copied to output.reportUri (a CronJob pod keeps nothing)', () => {
  test('each run adds its timestamped reports once and replaces latest.*; nothing without a reportUri', async () => {
    const root = tmpDir('report-copy');
    const local = path.join(root, 'pod-tmp');
    fs.mkdirSync(local, { recursive: true });
    const kept = path.join(root, 'kept');
    const base = testConfig(root, 'cancer');
    const config = parseConfig(MonitorConfigSchema, { ...JSON.parse(JSON.stringify(base)), output: { ...base.output, reportUri: kept } }, 'test');
    const run = async (stamp: string, body: string) => {
      fs.writeFileSync(path.join(local, `cancer-v1-${stamp}.json`), `{"run":"${body}"}`);
      fs.writeFileSync(path.join(local, `cancer-v1-${stamp}.html`), `<html>${body}</html>`);
      return publishReports(config, { json: path.join(local, `cancer-v1-${stamp}.json`), html: path.join(local, `cancer-v1-${stamp}.html`) });
    };
    expect(await run('20261125T010000Z', 'one')).toEqual(['cancer-v1-20261125T010000Z.json', 'latest.json', 'cancer-v1-20261125T010000Z.html', 'latest.html']);
    expect(await run('20261125T011500Z', 'two')).toEqual(['cancer-v1-20261125T011500Z.json', 'latest.json', 'cancer-v1-20261125T011500Z.html', 'latest.html']);
    expect(fs.readdirSync(kept).sort()).toEqual([
      'cancer-v1-20261125T010000Z.html', 'cancer-v1-20261125T010000Z.json', 'cancer-v1-20261125T011500Z.html', 'cancer-v1-20261125T011500Z.json', 'latest.html', 'latest.json',
    ]);
    expect(fs.readFileSync(path.join(kept, 'latest.html'), 'utf8')).toBe('<html>two</html>');
    expect(fs.readFileSync(path.join(kept, 'cancer-v1-20261125T010000Z.json'), 'utf8')).toBe('{"run":"one"}');
    expect(await publishReports(base, { json: path.join(local, 'cancer-v1-20261125T010000Z.json') })).toEqual([]);
  });
});
