/** The embedded store: better-sqlite3 in `<dataDir>/bridge.sqlite`, behind the async Sql interface. */
import Database from 'better-sqlite3';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { StoreError } from '../../errors';
import type { Dialect, RunResult, SchemaState, Sql } from '../sql';
import m0001 from './migrations/0001_init';
import m0002 from './migrations/0002_audit';
import m0003 from './migrations/0003_destinations';
import m0004 from './migrations/0004_reidentification';
import m0005 from './migrations/0005_admin_actions';
import m0006 from './migrations/0006_replicas';
import m0007 from './migrations/0007_masked_regions';
import m0008 from './migrations/0008_masked_share';
import m0009 from './migrations/0009_pixels_in_flight';
import m0010 from './migrations/0010_masked_boxes';
import m0011 from './migrations/0011_feed_lag';

/** Numbered migrations; the database's version is PRAGMA user_version. */
const MIGRATIONS: readonly string[] = [
  m0001,
  m0002,
  m0003,
  m0004,
  m0005,
  m0006,
  m0007,
  m0008,
  m0009,
  m0010,
  m0011,
];

const STORE_FAILURES = /^SQLITE_(FULL|IOERR|CORRUPT|READONLY|CANTOPEN|NOTADB|NOMEM)/;

/**
 * A failure of the database itself (disk full, I/O error, corruption) as a StoreError that says
 * what to do; any other error (a bug) as it is.
 */
function translate(err: unknown, where: string): unknown {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !STORE_FAILURES.test(code)) return err;
  return new StoreError(
    `the state database in ${where} cannot be written (${code}); the bridge stops. ` +
      'Free space or repair the folder and start it again: unfinished work resumes, nothing already pushed is pushed twice.',
    `STORE_${code.replace(/^SQLITE_/, '')}`,
  );
}

/** better-sqlite3 takes numbers, strings, bigints, buffers and null: never undefined or booleans. */
function bindable(params: readonly unknown[]): unknown[] {
  return params.map((p) => (p === undefined ? null : typeof p === 'boolean' ? (p ? 1 : 0) : p));
}

/**
 * Opens (and migrates) the embedded store. Statements run at once (better-sqlite3 is synchronous);
 * a transaction holds the connection, and statements from elsewhere wait until it ends, so
 * nothing outside it slips in between its awaits.
 */
export function openSqlite(dataDir: string | ':memory:'): Sql {
  let db: Database.Database;
  try {
    if (dataDir === ':memory:') db = new Database(':memory:');
    else {
      mkdirSync(dataDir, { recursive: true });
      db = new Database(path.join(dataDir, 'bridge.sqlite'));
    }
    db.pragma('journal_mode = WAL');
    // NORMAL in WAL mode: every commit survives the process dying; a power loss may undo the last
    // ones (SQLite syncs the WAL at each checkpoint), which a replay redoes: instances stored again
    // are answered "already there", the change log is read again from the older cursor, a job
    // taken again. Commits nothing would redo (an administrator's actions) call durable(), a
    // checkpoint that syncs. FULL synced every commit: 0.2 s of 3 CPU s on the benchmark corpus.
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    migrate(db);
  } catch (err) {
    if (err instanceof StoreError) throw err;
    // SQLite's own words ("file is not a database"): they name the fault, never a value.
    throw new StoreError(`the state database in ${dataDir} cannot be opened: ${(err as Error).message}`);
  }
  return new SqliteSql(db, dataDir);
}

/** The schema version of the store in `dataDir`, read without changing it (undefined: no database yet). */
export function sqliteSchema(dataDir: string): SchemaState {
  const file = path.join(dataDir, 'bridge.sqlite');
  if (!existsSync(file)) return { current: undefined, latest: MIGRATIONS.length, location: file };
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return {
      current: db.pragma('user_version', { simple: true }) as number,
      latest: MIGRATIONS.length,
      location: file,
    };
  } finally {
    db.close();
  }
}

function migrate(db: Database.Database): void {
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

class SqliteSql implements Sql {
  readonly dialect: Dialect = 'sqlite';
  private readonly statements = new Map<string, Database.Statement>();
  /** A durable() inside the open transaction: checkpoint once it commits. */
  private checkpointAtCommit = false;
  /** Resolves when the transaction holding the connection ends; null when none does. */
  private holder: Promise<void> | null = null;
  private closed = false;
  /** The view a transaction's body gets: runs at once, never waits on the lock it holds. */
  private readonly inside: Sql;

  constructor(
    private readonly db: Database.Database,
    readonly location: string,
  ) {
    this.inside = {
      dialect: this.dialect,
      location,
      all: async <T>(sql: string, params: readonly unknown[] = []) =>
        this.now(() => this.stmt(sql).all(...bindable(params)) as T[]),
      get: async <T>(sql: string, params: readonly unknown[] = []) =>
        this.now(() => this.stmt(sql).get(...bindable(params)) as T | undefined),
      run: async (sql: string, params: readonly unknown[] = []) =>
        this.now(() => ({ changes: this.stmt(sql).run(...bindable(params)).changes })),
      // One level of transaction: a nested call joins the one already open.
      transaction: <T>(fn: (tx: Sql) => Promise<T>) => fn(this.inside),
      exclusive: <T>(_name: string, fn: (tx: Sql) => Promise<T>) => fn(this.inside),
      durable: async () => {
        if (this.db.inTransaction) this.checkpointAtCommit = true;
        else this.checkpoint();
      },
      close: () => this.close(),
    };
  }

  private stmt(sql: string): Database.Statement {
    let st = this.statements.get(sql);
    if (!st) {
      st = this.db.prepare(sql);
      this.statements.set(sql, st);
    }
    return st;
  }

  private now<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw translate(err, this.location);
    }
  }

  async all<T>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    // Checked again after every wait, with nothing in between: no other transaction can start
    // between the check and the statement. Bounded: transactions are short.
    while (this.holder) await this.holder;
    return this.inside.all<T>(sql, params);
  }

  async get<T>(sql: string, params: readonly unknown[] = []): Promise<T | undefined> {
    // Checked again after every wait, with nothing in between: no other transaction can start
    // between the check and the statement. Bounded: transactions are short.
    while (this.holder) await this.holder;
    return this.inside.get<T>(sql, params);
  }

  async run(sql: string, params: readonly unknown[] = []): Promise<RunResult> {
    // Checked again after every wait, with nothing in between: no other transaction can start
    // between the check and the statement. Bounded: transactions are short.
    while (this.holder) await this.holder;
    return this.inside.run(sql, params);
  }

  async transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T> {
    while (this.holder) await this.holder;
    let release!: () => void;
    this.holder = new Promise<void>((resolve) => (release = resolve));
    try {
      this.now(() => this.db.exec('BEGIN IMMEDIATE'));
      let result: T;
      try {
        result = await fn(this.inside);
      } catch (err) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw err;
      }
      this.now(() => this.db.exec('COMMIT'));
      if (this.checkpointAtCommit) this.checkpoint();
      return result;
    } finally {
      this.checkpointAtCommit = false;
      this.holder = null;
      release();
    }
  }

  /** Syncs the WAL and copies it into the database file (synchronous=NORMAL syncs at checkpoints). */
  private checkpoint(): void {
    this.now(() => this.db.pragma('wal_checkpoint(FULL)'));
  }

  async durable(): Promise<void> {
    while (this.holder) await this.holder;
    this.checkpoint();
  }

  exclusive<T>(_name: string, fn: (tx: Sql) => Promise<T>): Promise<T> {
    return this.transaction(fn);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    while (this.holder) await this.holder;
    this.closed = true;
    this.statements.clear();
    this.db.close();
  }
}
