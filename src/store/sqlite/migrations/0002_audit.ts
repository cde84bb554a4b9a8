// Shipped migrations are never edited: add a new numbered file instead.
export default `
ALTER TABLE jobs ADD COLUMN mode TEXT NOT NULL DEFAULT 'normal' CHECK (mode IN ('normal', 'reprocess'));
ALTER TABLE instances ADD COLUMN pseudonym TEXT;
CREATE INDEX instances_pseudonym ON instances (pseudonym);
ALTER TABLE quarantine ADD COLUMN status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'discarded'));
ALTER TABLE quarantine ADD COLUMN resolved_at TEXT;

CREATE TABLE audit (
  id INTEGER PRIMARY KEY,
  job_id INTEGER NOT NULL,
  source_study_id TEXT NOT NULL,
  research_study_id TEXT,
  pseudonym TEXT,
  state TEXT NOT NULL,
  trigger TEXT NOT NULL,
  mode TEXT NOT NULL,
  instances_total INTEGER NOT NULL,
  instances_pushed INTEGER NOT NULL,
  instances_already INTEGER NOT NULL,
  instances_unchanged INTEGER NOT NULL,
  instances_quarantined INTEGER NOT NULL,
  checks TEXT NOT NULL,
  durations TEXT NOT NULL,
  profile TEXT NOT NULL,
  key_version TEXT NOT NULL,
  started_at TEXT NOT NULL,
  finished_at TEXT NOT NULL
);
CREATE INDEX audit_finished ON audit (finished_at);

CREATE TABLE instance_metadata (
  source_id TEXT PRIMARY KEY,
  source_study_id TEXT NOT NULL,
  research_id TEXT NOT NULL,
  research_study_id TEXT NOT NULL,
  pseudonym TEXT NOT NULL,
  fields TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX instance_metadata_study ON instance_metadata (source_study_id);
`;
