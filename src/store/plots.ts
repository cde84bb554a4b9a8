/**
 * The admin page's plots, from the shared store (the same SQL on SQLite and PostgreSQL), so every
 * replica draws the same: instances carried and quarantined per hour, open quarantine by check,
 * how much of a frame masking covered on the carried images, and the change feed's lag per hour. Times are ISO 8601 text: the
 * hour is its first 13 characters.
 */
import type { Db } from './db';

export interface Plots {
  /** The period: from `since` to the moment the plots were read (ISO 8601). */
  readonly since: string;
  readonly until: string;
  /** Hours (ISO, "YYYY-MM-DDTHH") with their counts; hours without any are absent. */
  readonly pushedPerHour: ReadonlyArray<{ hour: string; count: number }>;
  readonly quarantinedPerHour: ReadonlyArray<{ hour: string; count: number }>;
  readonly quarantineByCheck: ReadonlyArray<{ check: string; count: number }>;
  /** Carried masked instances per band of the masked share of a frame. */
  readonly maskedShare: ReadonlyArray<{ band: string; count: number }>;
  /** The change feed's largest lag (changes not yet read at a poll's start) per hour; hours without a poll are absent. */
  readonly feedLagPerHour: ReadonlyArray<{ hour: string; maxLag: number; polls: number }>;
}

/** Bands of the masked share (the kept-pixels limit is 15% by default). */
const BANDS: ReadonlyArray<readonly [string, number]> = [
  ['< 1%', 0.01],
  ['1-2%', 0.02],
  ['2-5%', 0.05],
  ['5-10%', 0.1],
  ['10-15%', 0.15],
  ['>= 15%', Number.POSITIVE_INFINITY],
];

export async function plotsSince(db: Db, since: string): Promise<Plots> {
  const hourly = (table: string, column: string, where: string) =>
    db.all<{ hour: string; count: number }>(
      `SELECT substr(${column}, 1, 13) AS hour, COUNT(*) AS count FROM ${table}
       WHERE ${where} AND ${column} >= ? GROUP BY substr(${column}, 1, 13) ORDER BY hour`,
      [since],
    );
  const band = BANDS.map(([, upper], i) =>
    upper === Number.POSITIVE_INFINITY ? `ELSE ${i}` : `WHEN masked_share < ${upper} THEN ${i}`,
  ).join(' ');
  const shares = await db.all<{ band: number; count: number }>(
    `SELECT CASE ${band} END AS band, COUNT(*) AS count FROM instances
     WHERE state = 'pushed' AND masked_share IS NOT NULL AND updated_at >= ? GROUP BY CASE ${band} END`,
    [since],
  );
  const byCheck = await db.all<{ check_name: string; count: number }>(
    `SELECT check_name, COUNT(*) AS count FROM quarantine WHERE status = 'open' GROUP BY check_name ORDER BY count DESC, check_name`,
  );
  const lag = await db.all<{ hour: string; max_lag: number; polls: number }>(
    'SELECT hour, max_lag, polls FROM feed_lag WHERE hour >= ? ORDER BY hour',
    [since.slice(0, 13)],
  );
  const num = (rows: Array<{ hour: string; count: number }>) =>
    rows.map((r) => ({ hour: r.hour, count: Number(r.count) }));
  return {
    since,
    until: new Date().toISOString(),
    pushedPerHour: num(await hourly('instances', 'updated_at', "state = 'pushed'")),
    quarantinedPerHour: num(await hourly('quarantine', 'created_at', '1 = 1')),
    quarantineByCheck: byCheck.map((r) => ({ check: r.check_name, count: Number(r.count) })),
    maskedShare: BANDS.map(([label], i) => ({
      band: label,
      count: Number(shares.find((s) => Number(s.band) === i)?.count ?? 0),
    })),
    feedLagPerHour: lag.map((r) => ({ hour: r.hour, maxLag: Number(r.max_lag), polls: Number(r.polls) })),
  };
}
