import type { AuditRecord } from '../store/audit';
import type { MetadataRow } from '../store/metadata';

/**
 * RFC 4180 field: quoted when it holds a comma, quote or line break. Text that a spreadsheet would
 * run as a formula (it starts with =, +, -, @, a tab or a carriage return: a kept Manufacturer
 * "=HYPERLINK(...)", say) gets a leading apostrophe; a plain number such as -12.5 stays as it is.
 */
function csvField(v: unknown): string {
  let s = v === null || v === undefined ? '' : String(v);
  if (typeof v === 'string' && /^[=+\-@\t\r]/.test(s) && !/^[+-]?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(s))
    s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function csvLine(row: readonly unknown[]): string {
  return row.map(csvField).join(',') + '\r\n';
}

export function toCsv(header: readonly string[], rows: ReadonlyArray<readonly unknown[]>): string {
  return [header, ...rows].map(csvLine).join('');
}

export const AUDIT_COLUMNS = [
  'sourceStudyId',
  'destination',
  'route',
  'researchStudyId',
  'pseudonym',
  'state',
  'trigger',
  'mode',
  'instancesTotal',
  'instancesPushed',
  'instancesAlready',
  'instancesUnchanged',
  'instancesQuarantined',
  'checksPassed',
  'durationMs',
  'pullMs',
  'deidentifyMs',
  'verifyMs',
  'pushMs',
  'profile',
  'keyVersion',
  'startedAt',
  'finishedAt',
] as const;

export function auditRow(a: AuditRecord): unknown[] {
  const checks = Object.entries(a.checks)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  const d = a.durations;
  return [
    a.sourceStudyId,
    a.destination,
    a.route,
    a.researchStudyId,
    a.pseudonym,
    a.state,
    a.trigger,
    a.mode,
    a.instancesTotal,
    a.instancesPushed,
    a.instancesAlready,
    a.instancesUnchanged,
    a.instancesQuarantined,
    checks,
    d.study ?? 0,
    d.pull ?? 0,
    d.deidentify ?? 0,
    d.verify ?? 0,
    d.push ?? 0,
    a.profile,
    a.keyVersion,
    a.startedAt,
    a.finishedAt,
  ];
}

export function auditCsv(records: readonly AuditRecord[]): string {
  return toCsv(AUDIT_COLUMNS, records.map(auditRow));
}

export function metadataCsv(rows: readonly MetadataRow[], keywords: readonly string[]): string {
  return toCsv(
    ['pseudonym', 'researchStudyId', 'researchInstanceId', ...keywords],
    rows.map((r) => [
      r.pseudonym,
      r.researchStudyId,
      r.researchId,
      ...keywords.map((k) => r.fields[k] ?? ''),
    ]),
  );
}

export function metadataJson(rows: readonly MetadataRow[], keywords: readonly string[]): unknown[] {
  return rows.map((r) => ({
    pseudonym: r.pseudonym,
    researchStudyId: r.researchStudyId,
    researchInstanceId: r.researchId,
    ...Object.fromEntries(keywords.map((k) => [k, r.fields[k] ?? ''])),
  }));
}
