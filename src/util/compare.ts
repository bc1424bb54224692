/**
 * Orders strings by UTF-16 code unit, the same on every machine. `localeCompare` depends on the
 * process's locale (ICU collation), so output sorted with it can differ between machines: every
 * ordering that reaches synthesized files, registry listings or reports uses this instead.
 */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
