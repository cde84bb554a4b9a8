// Shipped migrations are never edited: add a new numbered file instead.
// Several research destinations: what was carried, quarantined and exported is per destination.
export default `
CREATE TABLE instances_v3 (
  source_id TEXT NOT NULL,
  destination TEXT NOT NULL,
  study_id TEXT NOT NULL,
  job_id INTEGER NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('pushed', 'quarantined')),
  research_id TEXT,
  research_study_id TEXT,
  md5 TEXT,
  fingerprint TEXT NOT NULL,
  pseudonym TEXT,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (source_id, destination)
);
INSERT INTO instances_v3 SELECT source_id, 'research', study_id, job_id, state, research_id, research_study_id, md5, fingerprint, pseudonym, updated_at FROM instances;
DROP TABLE instances;
ALTER TABLE instances_v3 RENAME TO instances;
CREATE INDEX instances_study ON instances (study_id, destination);
CREATE INDEX instances_pseudonym ON instances (pseudonym);

CREATE TABLE quarantine_v3 (
  id INTEGER PRIMARY KEY,
  source_id TEXT NOT NULL,
  destination TEXT NOT NULL,
  study_id TEXT NOT NULL,
  job_id INTEGER NOT NULL,
  check_name TEXT NOT NULL,
  tag TEXT,
  reason TEXT NOT NULL,
  created_at TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'discarded')),
  resolved_at TEXT,
  UNIQUE (source_id, destination)
);
INSERT INTO quarantine_v3 SELECT id, source_id, 'research', study_id, job_id, check_name, tag, reason, created_at, status, resolved_at FROM quarantine;
DROP TABLE quarantine;
ALTER TABLE quarantine_v3 RENAME TO quarantine;
CREATE INDEX quarantine_study ON quarantine (study_id);

CREATE TABLE instance_metadata_v3 (
  source_id TEXT NOT NULL,
  destination TEXT NOT NULL,
  source_study_id TEXT NOT NULL,
  research_id TEXT NOT NULL,
  research_study_id TEXT NOT NULL,
  pseudonym TEXT NOT NULL,
  fields TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (source_id, destination)
);
INSERT INTO instance_metadata_v3 SELECT source_id, 'research', source_study_id, research_id, research_study_id, pseudonym, fields, updated_at FROM instance_metadata;
DROP TABLE instance_metadata;
ALTER TABLE instance_metadata_v3 RENAME TO instance_metadata;
CREATE INDEX instance_metadata_study ON instance_metadata (source_study_id);

ALTER TABLE audit ADD COLUMN destination TEXT NOT NULL DEFAULT 'research';
ALTER TABLE audit ADD COLUMN route TEXT;
`;
