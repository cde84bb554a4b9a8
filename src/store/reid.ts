import type { SealedIdentity } from '../deid/reid';
import type { Db } from './db';
import { NO_LIMIT } from './sql';

/** Stores a sealed identity once per pseudonym and key; later calls for the same pair do nothing. */
export async function saveSealed(db: Db, pseudonym: string, record: SealedIdentity): Promise<void> {
  await db.run(
    `INSERT INTO reidentification (pseudonym, key_id, sealed, created_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (pseudonym, key_id) DO NOTHING`,
    [pseudonym, record.keyId, record.sealed, new Date().toISOString()],
  );
}

export async function hasSealed(db: Db, pseudonym: string, keyId: string): Promise<boolean> {
  return (
    (await db.get('SELECT 1 AS sealed FROM reidentification WHERE pseudonym = ? AND key_id = ?', [
      pseudonym,
      keyId,
    ])) !== undefined
  );
}

export async function sealedFor(db: Db, pseudonym: string): Promise<SealedIdentity[]> {
  return (
    await db.all<{ key_id: string; sealed: string }>(
      'SELECT key_id, sealed FROM reidentification WHERE pseudonym = ? ORDER BY key_id',
      [pseudonym],
    )
  ).map((r) => ({ keyId: r.key_id, sealed: r.sealed }));
}

export async function allSealed(
  db: Db,
  keyId: string,
): Promise<Array<{ pseudonym: string } & SealedIdentity>> {
  return (
    await db.all<{ pseudonym: string; key_id: string; sealed: string }>(
      'SELECT pseudonym, key_id, sealed FROM reidentification WHERE key_id = ? ORDER BY pseudonym',
      [keyId],
    )
  ).map((r) => ({ pseudonym: r.pseudonym, keyId: r.key_id, sealed: r.sealed }));
}

export interface AdminAuditRow {
  readonly at: string;
  readonly action: string;
  readonly pseudonym: string;
  readonly actor: string;
  readonly outcome: string;
  /** What an action other than a mapping acted on, e.g. "quarantine 12 (study <orthanc id>)". */
  readonly target?: string | null;
}

/**
 * Records an admin command (mapping, quarantine release or discard). Never an identity. Durable
 * (in a transaction: once it commits): no replay would write it again.
 */
export async function auditAdmin(db: Db, row: Omit<AdminAuditRow, 'at'>): Promise<void> {
  await db.run(
    'INSERT INTO admin_audit (at, action, pseudonym, actor, outcome, target) VALUES (?, ?, ?, ?, ?, ?)',
    [new Date().toISOString(), row.action, row.pseudonym, row.actor, row.outcome, row.target ?? null],
  );
  await db.durable();
}

export async function listAdminAudit(
  db: Db,
  opts: { limit?: number; newestFirst?: boolean } = {},
): Promise<AdminAuditRow[]> {
  return db.all<AdminAuditRow>(
    `SELECT at, action, pseudonym, actor, outcome, target FROM admin_audit ORDER BY id ${opts.newestFirst ? 'DESC' : 'ASC'} LIMIT ?`,
    [opts.limit ?? NO_LIMIT],
  );
}
