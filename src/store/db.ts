/**
 * Opening the state store: the embedded SQLite in the data folder (one machine), or PostgreSQL
 * shared by several replicas when a state URL is configured. Every store module takes the `Db`
 * this returns and works the same on both.
 */
import { StoreError } from '../errors';
import type { PostgresOptions } from './postgres';
import type { SchemaState, Sql } from './sql';
import { openSqlite, sqliteSchema } from './sqlite';

export type Db = Sql;

export { StoreError };

/** The embedded store in `dataDir` (or in memory, for tests). */
export function openDatabase(dataDir: string | ':memory:'): Db {
  return openSqlite(dataDir);
}

/** The configured store: PostgreSQL when `state` is set, else SQLite in `dataDir`. */
export async function openStore(dataDir: string, state?: PostgresOptions): Promise<Db> {
  if (!state) return openSqlite(dataDir);
  // Loaded only here: one machine on SQLite never loads the PostgreSQL driver.
  const { openPostgres } = await import('./postgres');
  return openPostgres(state);
}

/** The configured store's schema version, read without migrating it; `tls` for PostgreSQL. */
export async function schemaState(
  dataDir: string,
  state?: PostgresOptions,
): Promise<SchemaState & { readonly tls?: boolean }> {
  if (!state) return sqliteSchema(dataDir);
  const { postgresSchema } = await import('./postgres');
  return postgresSchema(state);
}

/** True when the state database itself failed: the bridge must stop rather than go on unrecorded. */
export function isStoreFailure(err: unknown): boolean {
  return err instanceof StoreError;
}

export function now(): string {
  return new Date().toISOString();
}
