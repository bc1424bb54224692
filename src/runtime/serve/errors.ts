/**
 * An error answered with a given HTTP status and message (the message is sent to the client,
 * so it must name what was wrong without revealing internals). `reason` labels the error
 * metric.
 */
export class HttpError extends Error {
  constructor(
    public readonly statusCode: number,
    message: string,
    public readonly reason: string,
    public readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}
