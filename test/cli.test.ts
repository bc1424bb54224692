import { listCommands, main } from '../src/cli/main';

describe('cdk-mlops CLI', () => {
  test('rejects an unknown command and names the ones it knows', async () => {
    const err = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const code = await main(['no-such-command']);
      expect(code).toBe(2);
      const text = err.mock.calls.map((c) => String(c[0])).join('');
      expect(text).toContain("unknown command 'no-such-command'");
      for (const c of listCommands()) expect(text).toContain(c);
    } finally {
      err.mockRestore();
    }
  });
});
