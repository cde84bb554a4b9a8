import { now, type Db } from './db';

export type ReplicaRole = 'leader' | 'worker' | 'stopped';

export interface ReplicaRow {
  readonly id: string;
  readonly role: ReplicaRole;
  /** Where its API answers, when it serves one. */
  readonly api: string | null;
  readonly startedAt: string;
  readonly lastSeen: string;
}

/** The heartbeat of a replica: who it is, its role, and that it is alive now. */
export async function touchReplica(
  db: Db,
  r: { id: string; role: ReplicaRole; api: string | null; startedAt: string },
): Promise<void> {
  await db.run(
    `INSERT INTO replicas (id, role, api, started_at, last_seen) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (id) DO UPDATE SET role = excluded.role, api = excluded.api, last_seen = excluded.last_seen`,
    [r.id, r.role, r.api, r.startedAt, now()],
  );
}

/** Replicas seen since `sinceIso`, most recently seen first. */
export async function listReplicas(db: Db, sinceIso: string): Promise<ReplicaRow[]> {
  const rows = await db.all<{
    id: string;
    role: ReplicaRole;
    api: string | null;
    started_at: string;
    last_seen: string;
  }>('SELECT * FROM replicas WHERE last_seen >= ? ORDER BY last_seen DESC, id', [sinceIso]);
  return rows.map((r) => ({
    id: r.id,
    role: r.role,
    api: r.api,
    startedAt: r.started_at,
    lastSeen: r.last_seen,
  }));
}
