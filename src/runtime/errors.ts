/**
 * Errors raised at the runtime's boundaries (files, requests, configuration). Each names the
 * input, the value received and what was expected, so that a person can fix it without
 * reading code.
 */
export class InputError extends Error {
  public readonly input: string;
  constructor(input: string, message: string) {
    super(`${input}: ${message}`);
    this.name = 'InputError';
    this.input = input;
  }
}

/** A stored file does not match the sha256 recorded for it. */
export class IntegrityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IntegrityError';
  }
}

/** A thing that was asked for does not exist (model, version, alias, feature, ...). */
export class NotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotFoundError';
  }
}

/** Shortens a value for an error message. */
export function describeValue(value: unknown, max = 60): string {
  let s: string;
  try {
    s = typeof value === 'string' ? JSON.stringify(value) : JSON.stringify(value) ?? String(value);
  } catch {
    s = String(value);
  }
  return s.length > max ? `${s.slice(0, max)}...` : s;
}
