/**
 * One error model. Every error the bridge raises is a BridgeError with a stable code (stored in the
 * database and shown to operators), whether another try may succeed, and a scope that says what it
 * takes down; the worker decides from the scope:
 *
 * - instance: this instance cannot go (an unreadable file, a 4xx on its push): quarantine it, go on;
 * - destination: a whole server refuses us (401, 403): retry the job later, or fail it, once;
 * - study: this attempt of the job cannot finish (connection refused, timeout, 5xx): retry the job;
 * - process: the bridge cannot go on (its state database failed, its config is wrong): stop cleanly.
 *
 * Messages never carry patient values.
 */
export type ErrorScope = 'instance' | 'destination' | 'study' | 'process';

export abstract class BridgeError extends Error {
  abstract readonly retryable: boolean;
  abstract readonly scope: ErrorScope;
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
  readonly scope = 'study';
}

/** Will fail the same way again for this instance: a 4xx on its push, an engine fault on its file. */
export class PermanentError extends BridgeError {
  override readonly name = 'PermanentError';
  readonly retryable = false;
  readonly scope = 'instance';
}

/**
 * A whole server refuses us (401, 403: credentials or permissions): every instance would fail the
 * same way, so the job is retried later (an operator may fix the config meanwhile) or fails, once,
 * instead of each instance being quarantined.
 */
export class DestinationError extends BridgeError {
  override readonly name = 'DestinationError';
  readonly retryable = true;
  readonly scope = 'destination';
}

/**
 * The replica's claim on a job ran out and another replica took the job over (this one stalled or
 * lost the database for longer than the lease): it stops, records nothing, and leaves the job to
 * the new holder.
 */
export class ClaimLostError extends BridgeError {
  override readonly name = 'ClaimLostError';
  readonly retryable = true;
  readonly scope = 'study';
  constructor(jobId: number) {
    super('CLAIM_LOST', `job ${jobId} was taken over by another replica (this replica's claim expired)`);
  }
}

/** The configuration cannot be used; the message names the setting. */
export class ConfigError extends BridgeError {
  override readonly name: string = 'ConfigError';
  readonly retryable = false;
  readonly scope = 'process';
  constructor(message: string, code = 'CONFIG_INVALID') {
    super(code, message);
  }
}

/** The state database failed (disk full, I/O error, corruption): nothing can be recorded, so stop. */
export class StoreError extends BridgeError {
  override readonly name = 'StoreError';
  readonly retryable = false;
  readonly scope = 'process';
  constructor(message: string, code = 'STORE_UNAVAILABLE') {
    super(code, message);
  }
}

/** A file the engine cannot read as DICOM. The message names what is wrong, never a value of the file. */
export class DicomParseError extends BridgeError {
  override readonly name: string = 'DicomParseError';
  readonly retryable = false;
  readonly scope = 'instance';
  constructor(message: string, code = 'DICOM_UNREADABLE') {
    super(code, message);
  }
}

/** A command line that cannot be run as given; the message says what to give instead. */
export class UsageError extends BridgeError {
  override readonly name = 'UsageError';
  readonly retryable = false;
  readonly scope = 'process';
  constructor(message: string) {
    super('USAGE', message);
  }
}

/**
 * Anything thrown, as a BridgeError: our own as they are; anything else (a bug, a library's error)
 * as an instance fault that names only its kind, since its message may quote data.
 */
export function coerceError(err: unknown): BridgeError {
  if (err instanceof BridgeError) return err;
  const name = err instanceof Error ? err.name : typeof err;
  const code = (err as { code?: unknown } | null)?.code;
  return new PermanentError(
    'UNEXPECTED',
    `unexpected ${name}${typeof code === 'string' ? ` (${code})` : ''}`,
  );
}

/**
 * A message that is safe to log and store: our own errors as they are (they never carry values);
 * anything else by its name and code only, since a library's message may quote a value.
 */
export function safeMessage(err: unknown): string {
  if (err instanceof BridgeError) return `${err.code}: ${err.message}`;
  return coerceError(err).message;
}
