/**
 * The one interface every store module talks to: SQL with `?` placeholders, run on the embedded
 * SQLite (one machine) or on PostgreSQL (several replicas). Statements are written in the SQL both
 * understand (ON CONFLICT, RETURNING, CAST(? AS TEXT) for a parameter compared with NULL); the few
 * places the dialects differ ask `dialect`.
 */
export type Dialect = 'sqlite' | 'postgres';

export interface RunResult {
  /** Rows inserted, updated or deleted. */
  readonly changes: number;
}

export interface Sql {
  readonly dialect: Dialect;
  /** Where the state lives, for messages: a folder or a PostgreSQL address without its password. */
  readonly location: string;
  all<T>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  get<T>(sql: string, params?: readonly unknown[]): Promise<T | undefined>;
  run(sql: string, params?: readonly unknown[]): Promise<RunResult>;
  /**
   * Runs `fn` in one transaction: every statement through `tx` commits together or not at all.
   * Nothing else runs on the same connection meanwhile. `fn` must not have effects outside the
   * database: on PostgreSQL a transaction cut by a lost connection is run again.
   */
  transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T>;
  /**
   * Runs `fn` while holding the cluster-wide lock `name` (a transaction-scoped lock that every
   * replica takes before the same work), inside one transaction. On SQLite the transaction alone
   * serialises: one process owns the file.
   */
  exclusive<T>(name: string, fn: (tx: Sql) => Promise<T>): Promise<T>;
  /**
   * Makes what has been committed survive a power loss (inside a transaction: once it commits).
   * Routine state does not wait for it (a replay redoes what a power loss undid); records that
   * nothing would redo, an administrator's actions, do.
   */
  durable(): Promise<void>;
  close(): Promise<void>;
}

/** Lock names used with `exclusive` and the leader lock: one place, so two never collide. */
export const LOCK = {
  migrate: 'bridge:migrate',
  claim: 'bridge:claim',
  leader: 'bridge:leader',
} as const;

/** A stable 63-bit key for PostgreSQL's advisory locks from a lock name. */
export function lockKey(name: string): bigint {
  let h = 0xcbf29ce484222325n;
  for (const c of Buffer.from(name, 'utf8')) {
    h ^= BigInt(c);
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h & 0x7fffffffffffffffn;
}

/** The largest LIMIT both dialects take, for "no limit". */
export const NO_LIMIT = Number.MAX_SAFE_INTEGER;

/** Where a store's schema stands: its version (undefined: no database yet) and this bridge's latest. */
export interface SchemaState {
  readonly current: number | undefined;
  readonly latest: number;
  /** The file or server, without credentials. */
  readonly location: string;
}
