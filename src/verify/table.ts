/**
 * The gate's own reading of PS3.15 Table E.1-1: from the generated table's rows and the profile's
 * options alone, which actions may have produced an element. Written apart from the engine's
 * (deid/profile.ts `decide`) on purpose, like a second reader of the same standard: it answers with
 * every action the table allows, not the one the engine picked, so the gate accepts any conforming
 * choice (X, Z or D of a combined code) and catches an engine that picks one the table does not give.
 */
import { PS315_TABLE } from '../deid/table.generated';
import type { OptionName, ProfileOptions, ResolvedAction, TableRow } from '../deid/types';

const EXACT = new Map<string, TableRow>();
const RANGES: TableRow[] = [];
for (const row of PS315_TABLE) {
  if (row.match.kind === 'tag') EXACT.set(row.match.tag, row);
  else if (row.match.kind === 'groupRange') RANGES.push(row);
}

/** The row of Table E.1-1 naming a public tag ("GGGGEEEE"), a repeating-group row included. */
export function rowOf(tag: string): TableRow | undefined {
  const exact = EXACT.get(tag);
  if (exact) return exact;
  const group = parseInt(tag.slice(0, 4), 16);
  const element = parseInt(tag.slice(4), 16);
  return RANGES.find(
    (r) =>
      r.match.kind === 'groupRange' &&
      (group & r.match.groupMask) === r.match.groupValue &&
      (r.match.element === null || r.match.element === element),
  );
}

/** Each action a basic-profile code stands for: "X/Z/U*" is X, Z or U (the sequence kept, its UIDs replaced). */
function basicActions(code: string): ResolvedAction[] {
  return code.split('/').map((a) => (a === 'U*' ? 'U' : a) as ResolvedAction);
}

/**
 * The actions the table allows for a row under the enabled options: what an enabled option says
 * (C over K where two options disagree: cleaning is the safer), and always the basic profile's
 * own actions, which remove or replace more. Unlisted attributes are kept (K).
 */
export function allowedActions(
  row: TableRow | undefined,
  options: Readonly<ProfileOptions>,
): ReadonlySet<ResolvedAction> {
  if (!row) return new Set(['K']);
  const fromOptions = new Set<ResolvedAction>();
  for (const [name, action] of Object.entries(row.options)) {
    if (action && options[name as OptionName]) fromOptions.add(action);
  }
  const allowed = new Set<ResolvedAction>(basicActions(row.basic));
  if (fromOptions.has('C')) allowed.add('C');
  else if (fromOptions.has('K')) allowed.add('K');
  return allowed;
}

/** True for a tag of an odd (private) group. */
export function isPrivate(tag: string): boolean {
  return (parseInt(tag.slice(0, 4), 16) & 1) === 1;
}

/**
 * The actions the table allows once the IOD's type for the attribute at its place is known
 * (dicom/iods.ts): where the table removes an attribute the IOD requires, a Type 2 may be written
 * empty and a Type 1 with a dummy; where it empties a Type 1, a dummy (PS3.15 E.1.1 lets Z be a
 * dummy). Each still holds nothing of the original's value.
 */
export function allowedWithType(
  allowed: ReadonlySet<ResolvedAction>,
  type: 1 | 2 | 3 | undefined,
): ReadonlySet<ResolvedAction> {
  if (type === undefined || type === 3) return allowed;
  const out = new Set(allowed);
  if (type === 2 && allowed.has('X')) out.add('Z');
  if (type === 1 && (allowed.has('X') || allowed.has('Z'))) out.add('D');
  return out;
}
