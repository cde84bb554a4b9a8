// Shipped migrations are never edited: add a new numbered file instead.
// The change feed's lag over time, for the plots: per hour (ISO "YYYY-MM-DDTHH"), the most changes
// the clinical Orthanc had that the feed had not read yet, at the start of a poll.
export default `
CREATE TABLE feed_lag (
  hour TEXT PRIMARY KEY,
  max_lag INTEGER NOT NULL,
  polls INTEGER NOT NULL
);
`;
