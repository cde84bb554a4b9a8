import { existsSync } from 'node:fs';
import path from 'node:path';
import { entryOfKeyword, entryOfTag, type DictionaryEntry } from '../dicom/dictionary';
import { BASIC_OPTIONS, isPrivateTag, resolveAction, rowForTag, type TagOverride } from '../deid/profile';
import { replacementError } from '../deid/override';
import type { SafePrivateEntry } from '../deid/safePrivate';
import type { ProfileBody } from './schema';
import { ConfigError } from '../errors';
import { TAG } from '../dicom/tags';

/** A profile after validation: overrides by tag, safe-private additions parsed. */
export interface ProfileConfig {
  readonly name: string;
  readonly description?: string;
  readonly options: ProfileBody['options'];
  readonly maxDateShiftDays: number;
  readonly retainedFreeText: ProfileBody['retainedFreeText'];
  readonly pixelPolicy: ProfileBody['pixelPolicy'];
  /** Overrides by tag ("GGGGEEEE"), each with the keyword it was given as. */
  readonly overrides: Readonly<Record<string, TagOverride & { readonly keyword: string }>>;
  readonly safePrivate: readonly SafePrivateEntry[];
  /** The file the profile came from, or "inline". */
  readonly source: string;
}

/** Attributes no override may touch: the identity the pseudonym replaces, and the engine's own marking. */
const PROTECTED: Readonly<Record<string, string>> = {
  [TAG.PatientID]: 'PatientID is always replaced by the pseudonym',
  [TAG.PatientName]: 'PatientName is always replaced by the pseudonym',
  [TAG.SpecificCharacterSet]: 'SpecificCharacterSet is set by the engine (UTF-8)',
  [TAG.PatientIdentityRemoved]: 'PatientIdentityRemoved is set by the engine',
  [TAG.DeidentificationMethod]: 'DeidentificationMethod is set by the engine',
  [TAG.DeidentificationMethodCodeSequence]: 'DeidentificationMethodCodeSequence is set by the engine',
  [TAG.LongitudinalTemporalInformationModified]:
    'LongitudinalTemporalInformationModified is set by the engine',
  [TAG.PixelData]: 'PixelData is governed by the pixel policy',
};

/** Resolves "(0008,103E)", "0008103E" or a keyword to the tag and its dictionary VR. */
function lookupTag(spec: string): DictionaryEntry | string {
  const m = /^\(?([0-9A-Fa-f]{4}),?([0-9A-Fa-f]{4})\)?$/.exec(spec.trim());
  if (m) {
    const tag = (m[1]! + m[2]!).toUpperCase();
    if (isPrivateTag(tag)) return `${spec} is private; list private elements under safePrivate`;
    return entryOfTag(tag) ?? `${spec} is not a tag of the DICOM dictionary`;
  }
  return entryOfKeyword(spec) ?? `"${spec}" is not a DICOM keyword (nor a tag written as "(GGGG,EEEE)")`;
}

/** True when the profile (without overrides) would remove or change the attribute. */
function isIdentifying(tag: string, vr: string, options: ProfileBody['options']): boolean {
  const row = rowForTag(tag);
  if (row && resolveAction(row, { ...BASIC_OPTIONS, ...options }) !== 'K') return true;
  return vr === 'UI' && !options.retainUids;
}

/**
 * Validates a profile body and returns the profile. Errors name the profile, the override's index
 * and tag, and what is wrong; they never quote more than the admin's own configuration.
 */
export function buildProfile(name: string, body: ProfileBody, source: string): ProfileConfig {
  const where = (i: number) => `profile "${name}" (${source}) overrides.${i}`;
  const overrides: Record<string, TagOverride & { keyword: string }> = {};
  body.overrides.forEach((o, i) => {
    const found = lookupTag(o.tag);
    if (typeof found === 'string') throw new ProfileError(`${where(i)}: ${found}`);
    const { tag, vr, keyword } = found;
    if (isPrivateTag(tag))
      throw new ProfileError(`${where(i)}: ${o.tag} is private; list private elements under safePrivate`);
    if (tag.startsWith('0002')) throw new ProfileError(`${where(i)}: ${o.tag} is file meta information`);
    const protectedWhy = PROTECTED[tag];
    if (protectedWhy)
      throw new ProfileError(`${where(i)}: ${keyword} cannot be overridden (${protectedWhy})`);
    if (overrides[tag]) throw new ProfileError(`${where(i)}: ${keyword} is overridden twice`);
    if (o.action === 'replace') {
      if (o.value === undefined) throw new ProfileError(`${where(i)}: replace needs a "value"`);
      const err = replacementError(vr, o.value);
      if (err) throw new ProfileError(`${where(i)} (${keyword}): ${err}`);
    } else if (o.value !== undefined) {
      throw new ProfileError(`${where(i)} (${keyword}): "value" only goes with action "replace"`);
    }
    if (o.action === 'keep' && isIdentifying(tag, vr, body.options) && o.allowIdentifying !== true)
      throw new ProfileError(
        `${where(i)}: keeping ${keyword} keeps an attribute the profile removes or changes; set "allowIdentifying": true if that is intended`,
      );
    if (o.allowIdentifying && o.action !== 'keep')
      throw new ProfileError(`${where(i)} (${keyword}): "allowIdentifying" only goes with action "keep"`);
    overrides[tag] = {
      action: o.action,
      value: o.value,
      allowIdentifying: o.allowIdentifying,
      keyword,
    };
  });
  const safePrivate = body.safePrivate.map((e) => ({
    creator: e.creator.trim(),
    group: parseInt(e.group.replace(/^0x/, ''), 16),
    element: typeof e.element === 'number' ? e.element : parseInt(e.element.replace(/^0x/, ''), 16),
  }));
  return {
    name,
    description: body.description,
    options: body.options,
    maxDateShiftDays: body.maxDateShiftDays,
    retainedFreeText: body.retainedFreeText,
    pixelPolicy: body.pixelPolicy,
    overrides,
    safePrivate,
    source,
  };
}

/** A profile file or inline profile that cannot be used; the message names the profile and override. */
export class ProfileError extends ConfigError {
  override readonly name = 'ProfileError';
  constructor(message: string) {
    super(message, 'PROFILE_INVALID');
  }
}

/** The file of a named profile: the admin's folder first, then the built-in profiles. */
export function findProfileFile(name: string, dirs: readonly string[]): string | undefined {
  for (const dir of dirs) {
    const file = path.join(dir, `${name}.json`);
    if (existsSync(file)) return file;
  }
  return undefined;
}
