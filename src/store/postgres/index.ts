/**
 * The shared store: PostgreSQL through `pg`, for several replicas. Statements are the store's
 * `?` SQL with the placeholders numbered; bigints come back as numbers (IDs, counts and epoch
 * milliseconds are far below 2^53). A lost connection (PostgreSQL restarting, a failover) is
 * waited out for `retryForMs`; longer, and the call fails with a StoreError (the bridge stops,
 * and its supervisor starts it again).
 */
import { Client, Pool, types, type ClientConfig, type PoolClient } from 'pg';
import { StoreError } from '../../errors';
import { LOCK, lockKey, type Dialect, type RunResult, type SchemaState, type Sql } from '../sql';
import { POSTGRES_MIGRATIONS } from './schema';

export interface PostgresOptions {
  /** postgres://USER@HOST:PORT/DB, without a password. */
  readonly url: string;
  readonly password?: string;
  /** PEM certificates the server's certificate must chain to; set to require TLS. */
  readonly ca?: string;
  /** TLS without a CA file: encrypt only (sslmode=require), or verify with the system's CAs (verify-ca, verify-full). */
  readonly tls?: 'encrypt' | 'verify';
  /** How long a lost connection is waited out before a call fails. */
  readonly retryForMs?: number;
  /** Connections in the pool. */
  readonly poolSize?: number;
}

const INT8_OID = 20;
/** int8 (ids, counts, epoch milliseconds) as a number: every value the store keeps fits in 2^53. */
const TYPES = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID && format !== 'binary'
      ? (v: string) => Number(v)
      : types.getTypeParser(oid, format as 'text')) as typeof types.getTypeParser,
};

/** `?` placeholders as `$1, $2...`, leaving quoted text alone. */
export function numbered(sql: string): string {
  let out = '';
  let n = 0;
  let quote: string | null = null;
  for (const c of sql) {
    if (quote) {
      if (c === quote) quote = null;
      out += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      out += c;
    } else if (c === '?') out += `$${++n}`;
    else out += c;
  }
  return out;
}

/** The state URL without its password, for messages and the status page. */
export function redactedUrl(url: string): string {
  try {
    const u = new URL(url);
    u.password = '';
    return u.toString();
  } catch {
    return 'postgres://(unparsable address)';
  }
}

/** Connection faults worth waiting out: the server is restarting, unreachable or cut us off. */
export function isConnectionFault(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : '';
  if (/^08/.test(code) || ['57P01', '57P02', '57P03', '53300'].includes(code)) return true;
  if (['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND'].includes(code))
    return true;
  const message = typeof e?.message === 'string' ? e.message : '';
  return /Connection terminated|connection ended|Client has encountered a connection error|timeout exceeded when trying to connect/i.test(
    message,
  );
}

/**
 * The address's parts. Not handed to `pg` as a connection string: its parsed fields would replace
 * the password given beside it.
 */
export function addressParts(url: string): { host: string; port: number; user?: string; database: string } {
  const u = new URL(url);
  return {
    host: decodeURIComponent(u.hostname.replace(/^\[|\]$/g, '')),
    port: u.port ? Number(u.port) : 5432,
    user: u.username ? decodeURIComponent(u.username) : undefined,
    database: decodeURIComponent(u.pathname.slice(1)),
  };
}

export function clientConfig(o: PostgresOptions): ClientConfig {
  return {
    ...addressParts(o.url),
    password: o.password,
    ssl: o.ca
      ? { ca: o.ca, rejectUnauthorized: true }
      : o.tls === 'verify'
        ? { rejectUnauthorized: true }
        : o.tls === 'encrypt'
          ? { rejectUnauthorized: false }
          : undefined,
    types: TYPES,
    connectionTimeoutMillis: 5_000,
    keepAlive: true,
    application_name: 'orthanc-research-bridge',
  };
}

type Runner = Pick<PoolClient, 'query'>;

/**
 * The statements of one connection source. `outer` is the store when the view runs outside any
 * transaction (each statement takes a pooled connection; `transaction` and `exclusive` open a new
 * transaction); null inside one, where every statement runs on the transaction's connection and a
 * nested `transaction` or `exclusive` joins it (`exclusive` still takes its lock, in it).
 */
function view(runner: () => Promise<Runner>, location: string, outer: PostgresSql | null): Sql {
  const query = async <T>(sql: string, params: readonly unknown[]) => {
    const client = await runner();
    return client.query<T & object>(numbered(sql), params as unknown[]);
  };
  return {
    dialect: 'postgres',
    location,
    all: async <T>(sql: string, params: readonly unknown[] = []) => (await query<T>(sql, params)).rows as T[],
    get: async <T>(sql: string, params: readonly unknown[] = []) =>
      (await query<T>(sql, params)).rows[0] as T | undefined,
    run: async (sql: string, params: readonly unknown[] = []) => ({
      changes: (await query(sql, params)).rowCount ?? 0,
    }),
    transaction: <T>(fn: (tx: Sql) => Promise<T>) => (outer ? outer.transaction(fn) : fn(self())),
    exclusive: <T>(name: string, fn: (tx: Sql) => Promise<T>) =>
      outer ? outer.exclusive(name, fn) : lockThen(name, fn),
    // PostgreSQL's commit is durable (synchronous_commit on, its default): nothing more to do.
    durable: async () => undefined,
    close: async () => undefined,
  };
  function self(): Sql {
    return view(runner, location, null);
  }
  async function lockThen<T>(name: string, fn: (tx: Sql) => Promise<T>): Promise<T> {
    await query('SELECT pg_advisory_xact_lock(?)', [lockKey(name).toString()]);
    return fn(self());
  }
}

export class PostgresSql implements Sql {
  readonly dialect: Dialect = 'postgres';
  readonly location: string;
  private readonly pool: Pool;
  private readonly plain: Sql;
  private closed = false;

  constructor(private readonly options: PostgresOptions) {
    this.location = redactedUrl(options.url);
    this.pool = new Pool({ ...clientConfig(options), max: options.poolSize ?? 8 });
    // An idle connection cut by a server restart: the pool drops it and opens another when asked.
    this.pool.on('error', () => undefined);
    this.plain = view(async () => this.pool, this.location, this);
  }

  /** Runs `op`, waiting out connection faults for `retryForMs`. */
  private async retrying<T>(op: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + (this.options.retryForMs ?? 60_000);
    for (let attempt = 1; ; attempt++) {
      try {
        return await op();
      } catch (err) {
        if (this.closed || !isConnectionFault(err)) throw this.translate(err);
        if (Date.now() >= deadline)
          throw new StoreError(
            `the state database at ${this.location} has not answered for ${Math.round((this.options.retryForMs ?? 60_000) / 1000)} s ` +
              `(${(err as Error).message}); the bridge stops. Unfinished work resumes when it is back.`,
            'STORE_UNREACHABLE',
          );
        await new Promise((r) => setTimeout(r, Math.min(2_000, 100 * 2 ** Math.min(attempt, 5))));
      }
    }
  }

  private translate(err: unknown): unknown {
    if (err instanceof StoreError) return err;
    const code = (err as { code?: unknown } | null)?.code;
    // Disk full, out of memory, a read-only or corrupt database: the store itself failed.
    if (typeof code === 'string' && /^(53|58|XX|25006)/.test(code))
      return new StoreError(
        `the state database at ${this.location} cannot be written (${code}); the bridge stops.`,
        `STORE_PG_${code}`,
      );
    return err;
  }

  /** Plain statements may be re-sent after a lost connection: every one the store runs alone is idempotent or fenced. */
  all<T>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    return this.retrying(() => this.plain.all<T>(sql, params));
  }

  get<T>(sql: string, params: readonly unknown[] = []): Promise<T | undefined> {
    return this.retrying(() => this.plain.get<T>(sql, params));
  }

  run(sql: string, params: readonly unknown[] = []): Promise<RunResult> {
    return this.retrying(() => this.plain.run(sql, params));
  }

  transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T> {
    return this.retrying(async () => {
      const client = await this.pool.connect();
      let broken: unknown;
      // The server may cut the connection between two statements (a restart): the client then
      // emits 'error', which must not go unheard (it would end the process); the next statement
      // fails, and the whole transaction is run again.
      const onError = (err: Error): void => {
        broken = err;
      };
      client.on('error', onError);
      try {
        await client.query('BEGIN');
        const result = await fn(view(async () => client, this.location, null));
        await client.query('COMMIT');
        return result;
      } catch (err) {
        if (isConnectionFault(err)) broken ??= err;
        if (!broken) await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.off('error', onError);
        // A connection that failed is not handed to the next caller.
        client.release(broken instanceof Error ? broken : undefined);
      }
    });
  }

  exclusive<T>(name: string, fn: (tx: Sql) => Promise<T>): Promise<T> {
    // A new transaction whose view takes the lock first (see `view`).
    return this.transaction((tx) => tx.exclusive(name, fn));
  }

  /** Creates or upgrades the schema; replicas starting together take turns under a lock. */
  async migrate(): Promise<void> {
    await this.exclusive(LOCK.migrate, async (tx) => {
      await tx.run('CREATE TABLE IF NOT EXISTS bridge_schema (version INTEGER NOT NULL)');
      const row = await tx.get<{ version: number }>('SELECT version FROM bridge_schema');
      const current = row?.version ?? 0;
      if (current > POSTGRES_MIGRATIONS.length)
        throw new StoreError(
          `database version ${current} is newer than this bridge knows (${POSTGRES_MIGRATIONS.length})`,
          'STORE_TOO_NEW',
        );
      for (let v = current; v < POSTGRES_MIGRATIONS.length; v++) await tx.run(POSTGRES_MIGRATIONS[v]!);
      if (row) await tx.run('UPDATE bridge_schema SET version = ?', [POSTGRES_MIGRATIONS.length]);
      else await tx.run('INSERT INTO bridge_schema (version) VALUES (?)', [POSTGRES_MIGRATIONS.length]);
    });
  }

  /** A connection of its own, outside the pool, for a session-held lock (leadership). */
  dedicatedClient(): Client {
    return new Client(clientConfig(this.options));
  }

  /** A commit on PostgreSQL is durable already (synchronous_commit on, its default). */
  async durable(): Promise<void> {}

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}

/**
 * The shared store's schema version, read without changing it (0: no bridge tables yet), and
 * whether the connection is encrypted.
 */
export async function postgresSchema(
  options: PostgresOptions,
): Promise<SchemaState & { readonly tls: boolean }> {
  const client = new Client(clientConfig(options));
  await client.connect();
  try {
    const table = await client.query<{ t: string | null }>("SELECT to_regclass('bridge_schema')::text AS t");
    const row = table.rows[0]?.t
      ? (await client.query<{ version: number }>('SELECT version FROM bridge_schema')).rows[0]
      : undefined;
    const ssl = await client.query<{ ssl: boolean }>(
      'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()',
    );
    const { host, port, database } = addressParts(options.url);
    return {
      current: row?.version ?? 0,
      latest: POSTGRES_MIGRATIONS.length,
      location: `postgres://${host}:${port}/${database}`,
      tls: ssl.rows[0]?.ssl === true,
    };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Opens the shared store and brings its schema up to date. */
export async function openPostgres(options: PostgresOptions): Promise<PostgresSql> {
  const sql = new PostgresSql(options);
  try {
    await sql.migrate();
  } catch (err) {
    await sql.close().catch(() => undefined);
    if (err instanceof StoreError) throw err;
    throw new StoreError(
      `the state database at ${sql.location} cannot be opened: ${(err as Error).message}`,
      'STORE_OPEN',
    );
  }
  return sql;
}
