import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import m0001 from './migrations/0001_init';
import m0002 from './migrations/0002_audit';
import m0003 from './migrations/0003_destinations';

export type Db = Database.Database;

/** Numbered migrations; the database's version is PRAGMA user_version. */
const MIGRATIONS: readonly string[] = [m0001, m0002, m0003];

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

export function now(): string {
  return new Date().toISOString();
}
