import dcmjs from 'dcmjs';

/** A data element of the DICOM dictionary (PS3.6, as dcmjs carries it). */
export interface DictionaryEntry {
  /** "GGGGEEEE", upper-case. */
  readonly tag: string;
  readonly vr: string;
  readonly keyword: string;
}

/** The dictionary entry of a keyword ("SeriesDescription"), or undefined for no such public element. */
export function entryOfKeyword(keyword: string): DictionaryEntry | undefined {
  const e = dcmjs.data.DicomMetaDictionary.nameMap[keyword];
  if (!e || !/^\([0-9A-F]{4},[0-9A-F]{4}\)$/i.test(e.tag)) return undefined;
  return { tag: e.tag.replace(/[(),]/g, '').toUpperCase(), vr: e.vr, keyword };
}

/** The dictionary entry of a tag ("0008103E"), or undefined when the dictionary does not know it. */
export function entryOfTag(tag: string): DictionaryEntry | undefined {
  const t = tag.toUpperCase();
  const e = (
    dcmjs.data.DicomMetaDictionary.dictionary as Record<string, { name?: string; vr?: string } | undefined>
  )[`(${t.slice(0, 4)},${t.slice(4)})`];
  return e?.vr ? { tag: t, vr: e.vr, keyword: e.name ?? t } : undefined;
}
