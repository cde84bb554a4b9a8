// Shipped migrations are never edited: add a new numbered file instead.
// Claims with leases (the replica that runs a job, and until when its claim holds without a
// heartbeat) and the replicas that share this state. On SQLite there is one replica; the columns
// keep the two stores alike (src/store/postgres/schema.ts).
export default `
ALTER TABLE jobs ADD COLUMN owner TEXT;
ALTER TABLE jobs ADD COLUMN lease_until INTEGER;
CREATE INDEX jobs_owner ON jobs (owner, state);
CREATE TABLE replicas (
  id TEXT PRIMARY KEY,
  role TEXT NOT NULL,
  api TEXT,
  started_at TEXT NOT NULL,
  last_seen TEXT NOT NULL
);
`;
