// Shipped migrations are never edited: add a new numbered file instead.
// Quarantine release and discard are audited like the re-identification commands: who, when, what.
export default `
ALTER TABLE admin_audit ADD COLUMN target TEXT;
`;
