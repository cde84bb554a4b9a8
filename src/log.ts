import { mkdirSync } from 'node:fs';
import path from 'node:path';
import winston from 'winston';

export type Logger = winston.Logger;

export interface LogOptions {
  readonly level: string;
  /** Folder for bridge.log; no file when absent. */
  readonly dir?: string;
  /** Also write to stdout (the daemon does; CLI reports do not want the noise). */
  readonly console?: boolean;
}

/**
 * JSON lines. Callers log Orthanc IDs, pseudonyms, job IDs, stage names and counts: never a
 * DICOM value. Scope with `logger.child({ jobId, study, stage })`.
 */
export function createLogger(opts: LogOptions): Logger {
  const transports: winston.transport[] = [];
  if (opts.console !== false) transports.push(new winston.transports.Console({ stderrLevels: [] }));
  if (opts.dir) {
    mkdirSync(opts.dir, { recursive: true });
    transports.push(
      new winston.transports.File({
        filename: path.join(opts.dir, 'bridge.log'),
        maxsize: 20 * 1024 * 1024,
        maxFiles: 5,
      }),
    );
  }
  if (transports.length === 0) transports.push(new winston.transports.Console({ silent: true }));
  return winston.createLogger({
    level: opts.level,
    format: winston.format.combine(winston.format.timestamp(), winston.format.json()),
    defaultMeta: { service: 'bridge' },
    transports,
  });
}

export function silentLogger(): Logger {
  return winston.createLogger({ transports: [new winston.transports.Console({ silent: true })] });
}
