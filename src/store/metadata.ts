import type { Db } from './db';

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
export function listMetadata(
  db: Db,
  opts: { sourceStudyId?: string; destination?: string; limit?: number; offset?: number } = {},
): MetadataRow[] {
  const rows = db
    .prepare(
      `SELECT * FROM instance_metadata WHERE (@study IS NULL OR source_study_id = @study) AND (@dest IS NULL OR destination = @dest)
       ORDER BY destination, pseudonym, research_study_id, research_id LIMIT @limit OFFSET @offset`,
    )
    .all({
      study: opts.sourceStudyId ?? null,
      dest: opts.destination ?? null,
      limit: opts.limit ?? -1,
      offset: opts.offset ?? 0,
    }) as Row[];
  return rows.map((r) => ({
    destination: r.destination,
    sourceStudyId: r.source_study_id,
    researchStudyId: r.research_study_id,
    researchId: r.research_id,
    pseudonym: r.pseudonym,
    fields: JSON.parse(r.fields) as Record<string, string>,
  }));
}
