import type { Db } from './db';
import { NO_LIMIT } from './sql';

export interface MetadataRow {
  readonly destination: string;
  readonly sourceStudyId: string;
  readonly researchStudyId: string;
  readonly researchId: string;
  readonly pseudonym: string;
  readonly fields: Readonly<Record<string, string>>;
}

interface Row {
  destination: string;
  source_study_id: string;
  research_study_id: string;
  research_id: string;
  pseudonym: string;
  fields: string;
}

/** Export fields of every instance on research, or of one source study. */
export async function listMetadata(
  db: Db,
  opts: { sourceStudyId?: string; destination?: string; limit?: number; offset?: number } = {},
): Promise<MetadataRow[]> {
  const study = opts.sourceStudyId ?? null;
  const dest = opts.destination ?? null;
  const rows = await db.all<Row>(
    `SELECT * FROM instance_metadata WHERE (CAST(? AS TEXT) IS NULL OR source_study_id = ?) AND (CAST(? AS TEXT) IS NULL OR destination = ?)
     ORDER BY destination, pseudonym, research_study_id, research_id LIMIT ? OFFSET ?`,
    [study, study, dest, dest, opts.limit ?? NO_LIMIT, opts.offset ?? 0],
  );
  return rows.map((r) => ({
    destination: r.destination,
    sourceStudyId: r.source_study_id,
    researchStudyId: r.research_study_id,
    researchId: r.research_id,
    pseudonym: r.pseudonym,
    fields: JSON.parse(r.fields) as Record<string, string>,
  }));
}
