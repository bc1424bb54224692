'use strict';
// Loads the TypeScript sources of the servers under test without ts-node: ts-node pulls in
// node's REPL, which loads the `domain` module, and a loaded `domain` puts a small cost on
// every EventEmitter and callback of the process being measured (production runs compiled
// JavaScript, with neither). Transpile only, as `ts-node --transpile-only` does.
const fs = require('node:fs');
const ts = require('typescript');

const options = {
  module: ts.ModuleKind.CommonJS,
  target: ts.ScriptTarget.ES2022,
  esModuleInterop: true,
  inlineSourceMap: true,
};
require.extensions['.ts'] = (module, filename) => {
  const out = ts.transpileModule(fs.readFileSync(filename, 'utf8'), { compilerOptions: options, fileName: filename });
  module._compile(out.outputText, filename);
};
