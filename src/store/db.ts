import Database from 'better-sqlite3';
import { StoreError } from '../errors';
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

export { StoreError };

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
    if (err instanceof StoreError) throw err;
    // SQLite's own words ("file is not a database"): they name the fault, never a value.
    throw new StoreError(`the state database in ${dataDir} cannot be opened: ${(err as Error).message}`);
  }
  return guarded(db, dataDir);
}

function migrate(db: Db): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new StoreError(
      `database version ${current} is newer than this bridge knows (${MIGRATIONS.length})`,
      'STORE_TOO_NEW',
    );
  }
  db.transaction(() => {
    for (let v = current; v < MIGRATIONS.length; v++) db.exec(MIGRATIONS[v]!);
    db.pragma(`user_version = ${MIGRATIONS.length}`);
  })();
}

const STORE_FAILURES = /^SQLITE_(FULL|IOERR|CORRUPT|READONLY|CANTOPEN|NOTADB|NOMEM)/;

/**
 * A failure of the database itself (disk full, I/O error, corruption) as a StoreError that says
 * what to do; any other error (a bug) as it is.
 */
function translate(err: unknown, dataDir: string): unknown {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !STORE_FAILURES.test(code)) return err;
  return new StoreError(
    `the state database in ${dataDir} cannot be written (${code}); the bridge stops. ` +
      'Free space or repair the folder and start it again: unfinished work resumes, nothing already pushed is pushed twice.',
    `STORE_${code.replace(/^SQLITE_/, '')}`,
  );
}

/**
 * The database with every statement, transaction and pragma raising StoreError when the database
 * itself fails: callers recognise a store failure by its class, wherever it happens.
 */
function guarded(db: Database.Database, dataDir: string): Db {
  const wrap =
    <A extends unknown[], R>(fn: (...args: A) => R) =>
    (...args: A): R => {
      try {
        return fn(...args);
      } catch (err) {
        throw translate(err, dataDir);
      }
    };
  const statement = (st: Database.Statement): Database.Statement =>
    new Proxy(st, {
      get(target, prop) {
        const v = Reflect.get(target, prop, target) as unknown;
        if (typeof v !== 'function') return v;
        const bound = (v as (...a: unknown[]) => unknown).bind(target);
        return prop === 'run' || prop === 'get' || prop === 'all' || prop === 'iterate' ? wrap(bound) : bound;
      },
    });
  return new Proxy(db, {
    get(target, prop) {
      const v = Reflect.get(target, prop, target) as unknown;
      if (prop === 'prepare') return wrap((sql: string) => statement(target.prepare(sql)));
      if (prop === 'transaction')
        return (fn: (...a: unknown[]) => unknown) =>
          wrap(target.transaction(fn) as (...a: unknown[]) => unknown);
      if (typeof v !== 'function') return v;
      const bound = (v as (...a: unknown[]) => unknown).bind(target);
      return prop === 'exec' || prop === 'pragma' ? wrap(bound) : bound;
    },
  });
}

/** True when the state database itself failed: the bridge must stop rather than go on unrecorded. */
export function isStoreFailure(err: unknown): boolean {
  return err instanceof StoreError;
}

export function now(): string {
  return new Date().toISOString();
}
