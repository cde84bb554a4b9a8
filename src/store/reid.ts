import type { SealedIdentity } from '../deid/reid';
import type { Db } from './db';

/** Stores a sealed identity once per pseudonym and key; later calls for the same pair do nothing. */
export function saveSealed(db: Db, pseudonym: string, record: SealedIdentity): void {
  db.prepare(
    'INSERT OR IGNORE INTO reidentification (pseudonym, key_id, sealed, created_at) VALUES (?, ?, ?, ?)',
  ).run(pseudonym, record.keyId, record.sealed, new Date().toISOString());
}

export function hasSealed(db: Db, pseudonym: string, keyId: string): boolean {
  return !!db
    .prepare('SELECT 1 FROM reidentification WHERE pseudonym = ? AND key_id = ?')
    .get(pseudonym, keyId);
}

export function sealedFor(db: Db, pseudonym: string): SealedIdentity[] {
  return (
    db.prepare('SELECT key_id, sealed FROM reidentification WHERE pseudonym = ?').all(pseudonym) as Array<{
      key_id: string;
      sealed: string;
    }>
  ).map((r) => ({ keyId: r.key_id, sealed: r.sealed }));
}

export function allSealed(db: Db, keyId: string): Array<{ pseudonym: string } & SealedIdentity> {
  return (
    db
      .prepare('SELECT pseudonym, key_id, sealed FROM reidentification WHERE key_id = ?')
      .all(keyId) as Array<{
      pseudonym: string;
      key_id: string;
      sealed: string;
    }>
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

/** Records an admin command (mapping, quarantine release or discard). Never an identity. */
export function auditAdmin(db: Db, row: Omit<AdminAuditRow, 'at'>): void {
  db.prepare(
    'INSERT INTO admin_audit (at, action, pseudonym, actor, outcome, target) VALUES (?, ?, ?, ?, ?, ?)',
  ).run(new Date().toISOString(), row.action, row.pseudonym, row.actor, row.outcome, row.target ?? null);
}

export function listAdminAudit(
  db: Db,
  opts: { limit?: number; newestFirst?: boolean } = {},
): AdminAuditRow[] {
  return db
    .prepare(
      `SELECT at, action, pseudonym, actor, outcome, target FROM admin_audit ORDER BY id ${opts.newestFirst ? 'DESC' : 'ASC'} LIMIT ?`,
    )
    .all(opts.limit ?? -1) as AdminAuditRow[];
}
