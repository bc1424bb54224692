/**
 * Where each value of a JSON document is in its text, so that one value can be replaced
 * without touching anything else (indentation, key order, line endings, trailing newline).
 * A small recursive-descent scanner over RFC 8259 JSON; `JSON.parse` stays the judge of
 * validity (callers parse first), this only records offsets.
 */

/** A value of the document with its offsets: `text.slice(start, end)` is its source. */
export type JsonNode =
  | { readonly kind: 'object'; readonly start: number; readonly end: number; readonly entries: ReadonlyMap<string, JsonNode> }
  | { readonly kind: 'array'; readonly start: number; readonly end: number; readonly items: readonly JsonNode[] }
  | { readonly kind: 'scalar'; readonly start: number; readonly end: number };

const WS = new Set([' ', '\t', '\n', '\r']);

/** Scans `text` (valid JSON) into a tree of offsets. Throws on text that is not JSON. */
export function locateJson(text: string): JsonNode {
  let pos = 0;
  const fail = (what: string): never => {
    throw new Error(`not valid JSON at offset ${pos}: expected ${what}`);
  };
  const skip = (): void => {
    while (pos < text.length && WS.has(text[pos])) pos++;
  };
  const expect = (ch: string): void => {
    if (text[pos] !== ch) fail(`'${ch}'`);
    pos++;
  };
  const string = (): string => {
    const start = pos;
    expect('"');
    while (pos < text.length && text[pos] !== '"') pos += text[pos] === '\\' ? 2 : 1;
    expect('"');
    return JSON.parse(text.slice(start, pos)) as string;
  };
  const value = (): JsonNode => {
    skip();
    const start = pos;
    const ch = text[pos];
    if (ch === '{') {
      pos++;
      const entries = new Map<string, JsonNode>();
      skip();
      if (text[pos] === '}') {
        pos++;
        return { kind: 'object', start, end: pos, entries };
      }
      for (;;) {
        skip();
        const key = string();
        skip();
        expect(':');
        entries.set(key, value());
        skip();
        if (text[pos] === ',') {
          pos++;
          continue;
        }
        expect('}');
        return { kind: 'object', start, end: pos, entries };
      }
    }
    if (ch === '[') {
      pos++;
      const items: JsonNode[] = [];
      skip();
      if (text[pos] === ']') {
        pos++;
        return { kind: 'array', start, end: pos, items };
      }
      for (;;) {
        items.push(value());
        skip();
        if (text[pos] === ',') {
          pos++;
          continue;
        }
        expect(']');
        return { kind: 'array', start, end: pos, items };
      }
    }
    if (ch === '"') {
      string();
      return { kind: 'scalar', start, end: pos };
    }
    const m = /^(?:-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(text.slice(pos, pos + 400));
    if (!m) fail('a value');
    pos += m![0].length;
    return { kind: 'scalar', start, end: pos };
  };
  const root = value();
  skip();
  if (pos !== text.length) fail('the end of the document');
  return root;
}

/** The node at `path` (object keys), or undefined when a key is missing. */
export function nodeAt(root: JsonNode, path: readonly string[]): JsonNode | undefined {
  let node: JsonNode | undefined = root;
  for (const key of path) {
    if (!node || node.kind !== 'object') return undefined;
    node = node.entries.get(key);
  }
  return node;
}
