// Shipped migrations are never edited: add a new numbered file instead.
// Reversible pseudonyms: each pseudonym's identity sealed to a re-identification public key
// (one row per key, so a rotation can re-seal before the old key is destroyed), and the audit of
// the admin commands that map between pseudonyms and identities.
export default `
CREATE TABLE reidentification (
  pseudonym TEXT NOT NULL,
  key_id TEXT NOT NULL,
  sealed TEXT NOT NULL,
  created_at TEXT NOT NULL,
  PRIMARY KEY (pseudonym, key_id)
);
CREATE TABLE admin_audit (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at TEXT NOT NULL,
  action TEXT NOT NULL,
  pseudonym TEXT NOT NULL,
  actor TEXT NOT NULL,
  outcome TEXT NOT NULL
);
`;
