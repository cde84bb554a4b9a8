// Shipped migrations are never edited: add a new numbered file instead.
export default `
CREATE TABLE feed_state (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  cursor INTEGER NOT NULL,
  anchor_seq INTEGER,
  anchor_change TEXT,
  anchor_resource TEXT,
  orthanc_last INTEGER,
  resets INTEGER NOT NULL DEFAULT 0,
  updated_at TEXT NOT NULL
);
INSERT INTO feed_state (id, cursor, updated_at) VALUES (1, 0, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));

CREATE TABLE jobs (
  id INTEGER PRIMARY KEY,
  study_id TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'quarantined', 'failed', 'skipped')),
  trigger TEXT NOT NULL,
  change_seq INTEGER,
  attempts INTEGER NOT NULL DEFAULT 0,
  not_before INTEGER NOT NULL DEFAULT 0,
  research_study_id TEXT,
  pseudonym TEXT,
  instances_total INTEGER,
  instances_pushed INTEGER,
  instances_already INTEGER,
  instances_skipped INTEGER,
  instances_quarantined INTEGER,
  reason TEXT,
  created_at TEXT NOT NULL,
  started_at TEXT,
  finished_at TEXT
);
-- At most one queued job per study; a running job and a queued one (more instances arrived) may coexist.
CREATE UNIQUE INDEX jobs_one_queued_per_study ON jobs (study_id) WHERE state = 'queued';
CREATE INDEX jobs_state ON jobs (state, not_before, id);
CREATE INDEX jobs_study ON jobs (study_id, id);

CREATE TABLE instances (
  source_id TEXT PRIMARY KEY,
  study_id TEXT NOT NULL,
  job_id INTEGER NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('pushed', 'quarantined')),
  research_id TEXT,
  research_study_id TEXT,
  md5 TEXT,
  fingerprint TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX instances_study ON instances (study_id);

CREATE TABLE quarantine (
  id INTEGER PRIMARY KEY,
  source_id TEXT NOT NULL UNIQUE,
  study_id TEXT NOT NULL,
  job_id INTEGER NOT NULL,
  check_name TEXT NOT NULL,
  tag TEXT,
  reason TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE INDEX quarantine_study ON quarantine (study_id);
`;
