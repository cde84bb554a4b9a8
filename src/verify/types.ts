import { formatTag } from '../dicom/tags';

export { formatTag };
export type CheckName =
  | 'conformance'
  | 'iod'
  | 'residual-phi'
  | 'correspondence'
  | 'marking'
  | 'study'
  | 'pixel-policy'
  | 'clean-pixels'
  | 'kept-pixels';

/** One failed check. Names the check and the tag (and where it sits), never a value. */
export interface CheckFailure {
  readonly check: CheckName;
  /** "(GGGG,EEEE)" */
  readonly tag: string;
  /** Sequence path to the element, e.g. "(0040,0275)[0]"; empty at the top level. */
  readonly path: string;
  readonly detail: string;
}

/** What a part of the gate found, and the checks it ran (the audit counts these, not a fixed list). */
export interface GateVerdict {
  readonly failures: readonly CheckFailure[];
  readonly ran: readonly CheckName[];
}

/**
 * The group a quarantine reason belongs to in a summary: the first failure, with item indexes,
 * Orthanc IDs, frame numbers, shares and the "(+N more ...)" tail taken out, so 10,000 instances
 * read as a few lines.
 */
export function reasonGroup(reason: string): string {
  return reason
    .replace(/ \(\+\d+ more: .*\)$/s, '')
    .replace(/\b\d+\.\d% of frame \d+/g, 'N% of frame N')
    .replace(
      /\b\d+\.\d% of each frame \(the text of frames 1-\d+ together\)/g,
      'N% of each frame (the text of frames 1-N together)',
    )
    .replace(/\bin frame \d+ of/g, 'in frame N of')
    .replace(/\[\d+\]/g, '[n]')
    .replace(/\b[0-9a-f]{8}(-[0-9a-f]{8}){4}\b/g, '<id>');
}

export interface ReasonCount {
  readonly check: string;
  readonly reason: string;
  readonly count: number;
}

/** Counts reasons by check and group, most frequent first. */
export function summarizeReasons(
  entries: Iterable<{ check: string; reason: string; n?: number }>,
): ReasonCount[] {
  const counts = new Map<string, ReasonCount>();
  for (const e of entries) {
    const reason = reasonGroup(e.reason);
    const key = `${e.check}\u0000${reason}`;
    const c = counts.get(key);
    counts.set(key, { check: e.check, reason, count: (c?.count ?? 0) + (e.n ?? 1) });
  }
  return [...counts.values()].sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason));
}

export function describeFailure(f: CheckFailure): string {
  const where = f.path ? `${f.path}.${f.tag}` : f.tag;
  return `${f.check}: ${where} ${f.detail}`;
}
