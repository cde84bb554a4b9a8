/**
 * The state database commits with synchronous=NORMAL (a power loss may undo the last commits,
 * which a replay redoes); an administrator's action, which nothing would redo, is made durable
 * with a checkpoint: at once, or when the transaction holding it commits.
 */
import Database from 'better-sqlite3';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDatabase } from '../../src/store/db';
import { auditAdmin } from '../../src/store/reid';

describe('durability of the embedded state database', () => {
  const checkpoints = (spy: jest.SpyInstance) =>
    spy.mock.calls.filter(([p]) => String(p).startsWith('wal_checkpoint')).length;

  it('commits routine state without a sync of its own, and syncs an admin record (in a transaction: at its commit)', async () => {
    const db = openDatabase(mkdtempSync(path.join(os.tmpdir(), 'bridge-durable-')));
    const pragma = jest.spyOn(Database.prototype, 'pragma');
    try {
      expect(await db.get<{ synchronous: number }>('PRAGMA synchronous')).toEqual({ synchronous: 1 }); // NORMAL
      await db.run(`UPDATE feed_state SET cursor = 7 WHERE id = 1`);
      expect(checkpoints(pragma)).toBe(0);
      await auditAdmin(db, { action: 'pseudonym', pseudonym: 'RB1', actor: 'admin', outcome: 'computed' });
      expect(checkpoints(pragma)).toBe(1);
      await db.transaction(async (tx) => {
        await auditAdmin(tx, { action: 'pseudonym', pseudonym: 'RB2', actor: 'admin', outcome: 'computed' });
        expect(checkpoints(pragma)).toBe(1); // not inside the open transaction
      });
      expect(checkpoints(pragma)).toBe(2);
    } finally {
      pragma.mockRestore();
      await db.close();
    }
  });
});
