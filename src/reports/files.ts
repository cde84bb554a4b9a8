import { appendFileSync, existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { AuditRecord } from '../store/audit';
import type { MetadataRow } from '../store/metadata';
import { AUDIT_COLUMNS, auditRow, csvLine, metadataCsv, metadataJson, toCsv } from './format';

export function writeAtomic(file: string, text: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

/**
 * Per-study audit files in `dataDir/reports`: `studies/<sourceStudyId>/<destination>.json` (the
 * latest job's record for that destination) and one row appended to the cumulative `audit.csv`.
 */
export function writeStudyReport(dataDir: string, record: AuditRecord): void {
  const dir = path.join(dataDir, 'reports');
  writeAtomic(
    path.join(dir, 'studies', record.sourceStudyId, `${record.destination}.json`),
    JSON.stringify(record, null, 2) + '\n',
  );
  const csv = path.join(dir, 'audit.csv');
  if (!existsSync(csv)) writeAtomic(csv, toCsv(AUDIT_COLUMNS, []));
  appendFileSync(csv, csvLine(auditRow(record)));
}

/** Per-study metadata export in `dataDir/exports/<sourceStudyId>/<destination>.csv` and `.json`. */
export function writeStudyExport(
  dataDir: string,
  sourceStudyId: string,
  destination: string,
  rows: readonly MetadataRow[],
  keywords: readonly string[],
): void {
  const base = path.join(dataDir, 'exports', sourceStudyId, destination);
  writeAtomic(`${base}.csv`, metadataCsv(rows, keywords));
  writeAtomic(`${base}.json`, JSON.stringify(metadataJson(rows, keywords), null, 2) + '\n');
}
