import { canonicalJoinKey, decodeFeatureValue, encodeFeatureValue, entityKeyText, formatProtoTimestamp } from '../../../src/runtime/features/values';

describe('online value encoding', () => {
  test.each([
    [42n, 'int64', 'i42', 42],
    [-7, 'int32', 'i-7', -7],
    [2n ** 60n, 'int64', 'i1152921504606846976', '1152921504606846976'], // beyond 2^53: a string, as proto3 JSON writes int64
    [0.1, 'float64', 'f0.1', 0.1],
    [NaN, 'float64', 'fNaN', null],
    [Infinity, 'float32', 'fInfinity', null],
    ['héllo:wörld', 'string', 'shéllo:wörld', 'héllo:wörld'],
    ['', 'string', 's', ''],
    [true, 'bool', 'b1', true],
    [false, 'bool', 'b0', false],
    [new Date('2024-01-01T00:00:01.500Z'), 'unix_timestamp', 't1704067201500', 1704067201.5],
    [null, 'int64', 'n', null],
    [undefined, 'string', 'n', null],
  ] as const)('%p as %s <-> %p <-> %p', (value, type, stored, json) => {
    expect(encodeFeatureValue(value, type)).toBe(stored);
    expect(decodeFeatureValue(stored)).toEqual(json);
    expect(decodeFeatureValue(Buffer.from(stored, 'utf8'))).toEqual(json);
  });

  test('a value of the wrong type is refused with what was expected', () => {
    expect(() => encodeFeatureValue('1', 'int64')).toThrow('expected int64, got "1" (string)');
    expect(() => encodeFeatureValue(1.5, 'int32')).toThrow('expected int32, got 1.5 (number)');
    expect(() => encodeFeatureValue(1, 'bool')).toThrow('expected bool, got 1 (number)');
    expect(() => decodeFeatureValue('x1')).toThrow('has no known type tag');
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
