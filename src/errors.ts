/**
 * Errors say whether to retry. Codes are stable: they are stored in the database and shown to
 * operators. Messages never carry patient values.
 */
export abstract class BridgeError extends Error {
  abstract readonly retryable: boolean;
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Worth another try later: connection refused, timeout, 5xx, 429. */
export class TransientError extends BridgeError {
  override readonly name = 'TransientError';
  readonly retryable = true;
}

/** Will fail the same way again: unparseable DICOM, verification failure, 4xx. */
export class PermanentError extends BridgeError {
  override readonly name = 'PermanentError';
  readonly retryable = false;
}

/**
 * A whole server refuses us (401, 403: credentials or permissions): every instance would fail the
 * same way, so the job is retried later (an operator may fix the config meanwhile) or fails, once,
 * instead of each instance being quarantined.
 */
export class DestinationError extends BridgeError {
  override readonly name = 'DestinationError';
  readonly retryable = true;
}

export function isRetryable(err: unknown): boolean {
  return err instanceof BridgeError ? err.retryable : false;
}

/** A message that is safe to log and store: our own errors as they are, anything else by its name only. */
export function safeMessage(err: unknown): string {
  if (err instanceof BridgeError) return `${err.code}: ${err.message}`;
  if (err instanceof Error) return `${err.name}: ${err.message.split('\n')[0]?.slice(0, 200) ?? ''}`;
  return 'unknown error';
}
