/**
 * Which replica follows the clinical change log and runs the schedules: the one holding the
 * leader lock. On PostgreSQL that is a session advisory lock on a connection of its own: when the
 * holder dies, its connection closes and PostgreSQL releases the lock at once, so another replica
 * takes it at its next try. On SQLite the one process is the leader.
 */
import type { Client } from 'pg';
import type { Db } from './db';
import type { PostgresSql } from './postgres';
import { LOCK, lockKey } from './sql';

export interface Leadership {
  /** Tries to be (or stay) the leader; true while this replica holds the lock. */
  hold(): Promise<boolean>;
  /** Lets the lock go (graceful hand-over). */
  release(): Promise<void>;
}

class SoleLeader implements Leadership {
  async hold(): Promise<boolean> {
    return true;
  }
  async release(): Promise<void> {}
}

class AdvisoryLeader implements Leadership {
  private client: Client | null = null;
  private held = false;

  constructor(private readonly db: PostgresSql) {}

  async hold(): Promise<boolean> {
    try {
      if (!this.client) {
        const client = this.db.dedicatedClient();
        // A connection lost while leading: the lock went with it; the next hold() starts over.
        client.on('error', () => void this.drop());
        await client.connect();
        this.client = client;
      }
      if (this.held) {
        await this.client.query('SELECT 1');
        return true;
      }
      const r = await this.client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [
        lockKey(LOCK.leader).toString(),
      ]);
      this.held = r.rows[0]?.ok === true;
      return this.held;
    } catch {
      await this.drop();
      return false;
    }
  }

  private async drop(): Promise<void> {
    const client = this.client;
    this.client = null;
    this.held = false;
    await client?.end().catch(() => undefined);
  }

  async release(): Promise<void> {
    if (this.client && this.held)
      await this.client
        .query('SELECT pg_advisory_unlock($1)', [lockKey(LOCK.leader).toString()])
        .catch(() => undefined);
    await this.drop();
  }
}

export function leadershipFor(db: Db): Leadership {
  return db.dialect === 'postgres' ? new AdvisoryLeader(db as PostgresSql) : new SoleLeader();
}
