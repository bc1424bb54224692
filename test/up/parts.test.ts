import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { CANCER_CSV } from './support';
import { AlertInbox } from '../../src/up/inbox';
import { parsePrometheus } from '../../src/up/loop';
import { lastLogEvent, StatusView } from '../../src/up/status';
import { columnStd, loadFeatureRows, sampleRows, shiftRows } from '../../src/up/traffic';

class Sink extends Writable {
  public text = '';
  public isTTY?: boolean;
  public columns = 80;
  _write(chunk: Buffer, _enc: string, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

describe('status view', () => {
  test('off a terminal: one line per change, none for a repeated state', () => {
    const sink = new Sink();
    const v = new StatusView({ stream: sink });
    v.set('Rollout/ns/cancer', { state: 'starting', url: 'http://127.0.0.1:1' });
    v.set('Rollout/ns/cancer', { state: 'starting' });
    v.set('Rollout/ns/cancer', { state: 'ready', event: 'cancer@1' });
    v.note('a message');
    v.close();
    expect(sink.text.split('\n')).toEqual([
      '~ Rollout/ns/cancer  starting http://127.0.0.1:1',
      '+ Rollout/ns/cancer  ready    http://127.0.0.1:1     cancer@1',
      'a message',
      '',
    ]);
  });

  test('on a terminal: the block is redrawn in place, with the last log event of running services', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'up-status-'));
    const log = path.join(dir, 'train.log');
    fs.writeFileSync(log, `${JSON.stringify({ level: 30, msg: 'fit 40%' })}\n`);
    const sink = new Sink();
    sink.isTTY = true;
    const v = new StatusView({ stream: sink, refreshMs: 10_000 });
    v.set('train', { state: 'running', logFile: log });
    v.set('serve', { state: 'pending' });
    v.close();
    fs.rmSync(dir, { recursive: true, force: true });
    // Two redraws after the first: each moves up over the block drawn before and clears it.
    expect(sink.text).toContain('\x1b[1F\x1b[J');
    expect(sink.text).toContain('\x1b[2F\x1b[J');
    expect(sink.text.endsWith('> train         running                         fit 40%\n. serve         pending\n')).toBe(true);
  });

  test('off a terminal, a running job\'s progress (its last log event) is printed when it changes', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'up-status-'));
    const log = path.join(dir, 'train.log');
    fs.writeFileSync(log, `${JSON.stringify({ level: 30, msg: 'fit 10%' })}\n`);
    const sink = new Sink();
    const v = new StatusView({ stream: sink, progressMs: 20 });
    v.set('train', { state: 'running', event: 'train', logFile: log });
    await new Promise((r) => setTimeout(r, 80));
    fs.appendFileSync(log, `${JSON.stringify({ level: 30, msg: 'fit 60%' })}\n`);
    await new Promise((r) => setTimeout(r, 80));
    v.set('train', { state: 'done', event: 'train finished' });
    await new Promise((r) => setTimeout(r, 60));
    v.close();
    fs.rmSync(dir, { recursive: true, force: true });
    expect(sink.text.split('\n').filter(Boolean)).toEqual([
      '> train         running                         train',
      '> train         running                         fit 10%',
      '> train         running                         fit 60%',
      '= train         done                            train finished',
    ]);
  });

  test('silent prints nothing', () => {
    const sink = new Sink();
    const v = new StatusView({ stream: sink, silent: true });
    v.set('x', { state: 'ready' });
    v.note('n');
    v.close();
    expect(sink.text).toBe('');
  });

  test('lastLogEvent: the message of the last JSON line, or the last plain line', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'up-status-'));
    const f = path.join(dir, 'a.log');
    fs.writeFileSync(f, '{"level":30,"msg":"first"}\n{"level":30,"msg":"second"}\n\n');
    expect(lastLogEvent(f)).toBe('second');
    fs.appendFileSync(f, 'a crash trace\n');
    expect(lastLogEvent(f)).toBe('a crash trace');
    expect(lastLogEvent(path.join(dir, 'none.log'))).toBeUndefined();
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe('alert inbox', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'up-inbox-'));
  const inbox = new AlertInbox(dir);
  let url: string;
  beforeAll(async () => {
    url = await inbox.start();
  });
  afterAll(async () => {
    await inbox.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('a JSON message is written to a numbered file and kept in order', async () => {
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const res = await fetch(url, { method: 'POST', body: JSON.stringify({ text: 'Dataset drift on m v1' }), headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(200);
    await fetch(url, { method: 'POST', body: '{"text":"second"}' });
    expect(inbox.messages.map((m) => (m.body as { text: string }).text)).toEqual(['Dataset drift on m v1', 'second']);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'alert-001.json'), 'utf8')).body).toEqual({ text: 'Dataset drift on m v1' });
  });

  test('a body that is not JSON gets 400 and is not kept; other methods 405', async () => {
    const bad = await fetch(url, { method: 'POST', body: 'hello' });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toMatch(/^body is not JSON: /);
    expect((await fetch(url)).status).toBe(405);
    expect(inbox.messages).toHaveLength(2);
  });

  test('stop closes the port', async () => {
    const other = new AlertInbox(path.join(dir, 'other'));
    const u = await other.start();
    await other.stop();
    await expect(fetch(u, { method: 'POST', body: '{}' })).rejects.toThrow();
    await other.stop();
  });
});

describe('traffic', () => {
  test('feature rows are read in the model order; sampling is seeded and without replacement', async () => {
    const rows = await loadFeatureRows(CANCER_CSV, ['mean_area', 'mean_radius']);
    expect(rows).toHaveLength(569);
    expect(rows[0]).toEqual([1001, 17.99]);
    const a = sampleRows(rows, 200, 42);
    expect(sampleRows(rows, 200, 42)).toEqual(a);
    expect(sampleRows(rows, 200, 43)).not.toEqual(a);
    const ids = Array.from({ length: 100 }, (_, i) => [i]);
    expect(sampleRows(ids, 100, 5).map((r) => r[0]).sort((x, y) => x - y)).toEqual(ids.map((r) => r[0]));
    expect(sampleRows(rows.slice(0, 3), 7, 1)).toHaveLength(7);
    await expect(loadFeatureRows(CANCER_CSV, ['mean_area', 'nope'])).rejects.toThrow(/has no column 'nope' \(the model's feature\)/);
  });

  test('a shift moves every column by k standard deviations', () => {
    const rows = [[1, 10], [3, 10], [5, 40]];
    const std = columnStd(rows);
    expect(std[0]).toBeCloseTo(2, 12);
    expect(shiftRows(rows, std, 1.5)).toEqual([[4, 10 + 1.5 * std[1]], [6, 10 + 1.5 * std[1]], [8, 40 + 1.5 * std[1]]]);
  });
});

describe('Prometheus text', () => {
  test('samples of the named families, with their labels', () => {
    const text = [
      '# HELP cdk_mlops_serve_requests_total x',
      '# TYPE cdk_mlops_serve_requests_total counter',
      'cdk_mlops_serve_requests_total{model="cancer",version="1",variant="primary",code="200"} 80',
      'cdk_mlops_serve_requests_total{model="cancer",version="2",variant="primary",code="200"} 4',
      'other_metric 3',
      'cdk_mlops_serve_model_ready{model="a\\"b"} 1',
    ].join('\n');
    expect(parsePrometheus(text, ['cdk_mlops_serve_requests_total', 'cdk_mlops_serve_model_ready'])).toEqual([
      { name: 'cdk_mlops_serve_requests_total', labels: { model: 'cancer', version: '1', variant: 'primary', code: '200' }, value: 80 },
      { name: 'cdk_mlops_serve_requests_total', labels: { model: 'cancer', version: '2', variant: 'primary', code: '200' }, value: 4 },
      { name: 'cdk_mlops_serve_model_ready', labels: { model: 'a\\"b' }, value: 1 },
    ]);
  });
});
