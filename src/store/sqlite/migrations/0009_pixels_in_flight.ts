// Shipped migrations are never edited: add a new numbered file instead.
// Instances whose pixels are being read (decoded, OCR, detector) right now. A row left behind by a
// process that died is quarantined at the next start instead of being read again: an image that
// stops the process must not stop it on every restart.
export default `
CREATE TABLE pixels_in_flight (
  source_id TEXT NOT NULL,
  destination TEXT NOT NULL,
  study_id TEXT NOT NULL,
  job_id INTEGER NOT NULL,
  started_at TEXT NOT NULL,
  PRIMARY KEY (source_id, destination)
);
`;
