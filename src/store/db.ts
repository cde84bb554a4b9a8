import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import m0001 from './migrations/0001_init';
import m0002 from './migrations/0002_audit';
import m0003 from './migrations/0003_destinations';
import m0004 from './migrations/0004_reidentification';
import m0005 from './migrations/0005_admin_actions';

export type Db = Database.Database;

/** Numbered migrations; the database's version is PRAGMA user_version. */
const MIGRATIONS: readonly string[] = [m0001, m0002, m0003, m0004, m0005];

export class StoreError extends Error {
  override readonly name = 'StoreError';
  readonly code = 'STORE_UNAVAILABLE';
}

export function openDatabase(dataDir: string | ':memory:'): Db {
  let db: Db;
  try {
    if (dataDir === ':memory:') db = new Database(':memory:');
    else {
      mkdirSync(dataDir, { recursive: true });
      db = new Database(path.join(dataDir, 'bridge.sqlite'));
    }
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    migrate(db);
  } catch (err) {
    throw new StoreError(`the state database in ${dataDir} cannot be opened: ${(err as Error).message}`);
  }
  return db;
}

function migrate(db: Db): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new Error(`database version ${current} is newer than this bridge knows (${MIGRATIONS.length})`);
  }
  db.transaction(() => {
    for (let v = current; v < MIGRATIONS.length; v++) db.exec(MIGRATIONS[v]!);
    db.pragma(`user_version = ${MIGRATIONS.length}`);
  })();
}

const STORE_FAILURES = /^SQLITE_(FULL|IOERR|CORRUPT|READONLY|CANTOPEN|NOTADB|NOMEM)/;

/**
 * True when the state database itself failed (disk full, I/O error, corruption): the bridge must
 * stop rather than go on without being able to record what it did.
 */
export function isStoreFailure(err: unknown): boolean {
  if (err instanceof StoreError) return true;
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && STORE_FAILURES.test(code);
}

/** A store failure as a StoreError with a message that says what to do. */
export function storeFailure(err: unknown, dataDir: string): StoreError {
  if (err instanceof StoreError) return err;
  const code = String((err as { code?: unknown }).code ?? 'SQLITE_ERROR');
  const what = (err as Error).message?.split('\n')[0] ?? '';
  return new StoreError(
    `the state database in ${dataDir} cannot be written (${code}: ${what}); the bridge stops. ` +
      'Free space or repair the folder and start it again: unfinished work resumes, nothing already pushed is pushed twice.',
  );
}

export function now(): string {
  return new Date().toISOString();
}
