import { parseRow, encodeRow, valueSchemaOf } from '../../../src/runtime/features/rows';
import { canonicalJoinKey, decodeFeatureValue, encodeFeatureValue, entityKeyText, formatProtoTimestamp } from '../../../src/runtime/features/values';

describe('online value encoding', () => {
  test.each([
    [42n, 'int64', 42, 42],
    [-7, 'int32', -7, -7],
    [2n ** 60n, 'int64', '1152921504606846976', '1152921504606846976'], // beyond 2^53: a string, as proto3 JSON writes int64
    [0.1, 'float64', 0.1, 0.1],
    [NaN, 'float64', null, null],
    [Infinity, 'float32', null, null],
    [3n, 'float64', 3, 3],
    ['héllo:wörld', 'string', 'héllo:wörld', 'héllo:wörld'],
    ['', 'string', '', ''],
    [true, 'bool', true, true],
    [false, 'bool', false, false],
    [new Date('2024-01-01T00:00:01.500Z'), 'unix_timestamp', 1704067201500, 1704067201.5],
    [null, 'int64', null, null],
    [undefined, 'string', null, null],
  ] as const)('%p as %s <-> %p <-> %p', (value, type, stored, json) => {
    expect(encodeFeatureValue(value, type)).toBe(stored);
    // through a stored row and back: the JSON text keeps every value exactly
    const schema = valueSchemaOf([{ name: 'x', valueType: type }]);
    const row = parseRow(Buffer.from(encodeRow(schema, 1, null, [encodeFeatureValue(value, type)]), 'utf8'));
    expect(decodeFeatureValue(row[3], type)).toEqual(json);
  });

  test('a value of the wrong type is refused with what was expected', () => {
    expect(() => encodeFeatureValue('1', 'int64')).toThrow('expected int64, got "1" (string)');
    expect(() => encodeFeatureValue(1.5, 'int32')).toThrow('expected int32, got 1.5 (number)');
    expect(() => encodeFeatureValue(1, 'bool')).toThrow('expected bool, got 1 (number)');
  });

  test('a row is [schema, event ts, created ts, values...]; anything else is refused', () => {
    const schema = valueSchemaOf([{ name: 'a', valueType: 'float64' }, { name: 'b', valueType: 'string' }]);
    expect(schema.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    // the fingerprint covers names, types and order
    expect(valueSchemaOf([{ name: 'b', valueType: 'string' }, { name: 'a', valueType: 'float64' }]).fingerprint).not.toBe(schema.fingerprint);
    expect(valueSchemaOf([{ name: 'a', valueType: 'float32' }, { name: 'b', valueType: 'string' }]).fingerprint).not.toBe(schema.fingerprint);
    expect(encodeRow(schema, 1704067200000, null, [0.5, 'x'])).toBe(`["${schema.fingerprint}",1704067200000,null,0.5,"x"]`);
    expect(parseRow(`["${schema.fingerprint}",1,2,0.5,"x"]`)).toEqual([schema.fingerprint, 1, 2, 0.5, 'x']);
    expect(() => parseRow('i42')).toThrow('stored online value "i42" is not a feature row');
    expect(() => parseRow('["f",null,null]')).toThrow('is not a feature row');
  });

  test('join keys are canonical, typed and range-checked', () => {
    expect(canonicalJoinKey(1001, 'int64', 'k')).toBe('1001');
    expect(canonicalJoinKey('9223372036854775807', 'int64', 'k')).toBe('9223372036854775807');
    expect(canonicalJoinKey(5n, 'int32', 'k')).toBe('5');
    expect(() => canonicalJoinKey('9223372036854775808', 'int64', 'k')).toThrow('k: 9223372036854775808 is out of range for int64');
    expect(() => canonicalJoinKey(2 ** 31, 'int32', 'k')).toThrow('out of range for int32');
    expect(() => canonicalJoinKey(null, 'string', 'k')).toThrow('k: expected a string join key, got null');
    expect(entityKeyText(['42', 'a:b/c d'])).toBe('42:a%3Ab%2Fc%20d');
  });

  test('timestamps are written as protobuf JSON writes them', () => {
    expect(formatProtoTimestamp(Date.parse('2021-12-31T23:00:00Z'))).toBe('2021-12-31T23:00:00Z');
    expect(formatProtoTimestamp(Date.parse('2021-12-31T23:00:00.250Z'))).toBe('2021-12-31T23:00:00.250Z');
  });
});
