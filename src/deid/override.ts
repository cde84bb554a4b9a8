import type { TagOverride } from './profile';
import type { DicomElement } from './types';
import { BINARY_NUMBER_VRS } from '../dicom/vr';

/** Longest value per text VR (PS3.5 6.2), for checking replacement values. */
const MAX_LENGTH: Readonly<Record<string, number>> = {
  AE: 16,
  AS: 4,
  CS: 16,
  DA: 8,
  DS: 16,
  DT: 26,
  IS: 12,
  LO: 64,
  LT: 10240,
  PN: 320,
  SH: 16,
  ST: 1024,
  TM: 14,
  UC: 0xfffffffe,
  UR: 0xfffffffe,
  UT: 0xfffffffe,
};
const FORMAT: Readonly<Record<string, RegExp>> = {
  DA: /^\d{8}$/,
  TM: /^\d{2}(\d{2}(\d{2}(\.\d{1,6})?)?)?$/,
  DT: /^\d{4}(\d{2}(\d{2}(\d{2}(\d{2}(\d{2}(\.\d{1,6})?)?)?)?)?)?([+-]\d{4})?$/,
  AS: /^\d{3}[DWMY]$/,
  CS: /^[A-Z0-9_ ]*$/,
  IS: /^[+-]?\d+$/,
  DS: /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/,
};

/**
 * Why `value` cannot replace an element of this VR, or undefined when it can. Sequences, UIDs
 * (they would break references) and binary VRs cannot be replaced with a configured value.
 */
export function replacementError(vr: string, value: string): string | undefined {
  if (vr === 'SQ') return 'a sequence cannot be replaced with a value; use remove or empty';
  if (vr === 'UI')
    return 'a UID cannot be replaced with a fixed value (references would break); use remove or keep';
  if (BINARY_NUMBER_VRS.has(vr))
    return Number.isFinite(Number(value)) ? undefined : `"${value}" is not a number (VR ${vr})`;
  const max = MAX_LENGTH[vr];
  if (max === undefined) return `values of VR ${vr} cannot be replaced with text`;
  if (value.includes('\\') && (vr === 'LT' || vr === 'ST' || vr === 'UT'))
    return `VR ${vr} holds one value; the backslash is not allowed`;
  for (const part of value.split('\\')) {
    const format = FORMAT[vr];
    if (format && part !== '' && !format.test(part))
      return `"${part.slice(0, 40)}" is not a valid ${vr} value`;
    if (part.length > max) return `"${part.slice(0, 20)}..." is longer than ${max} characters (VR ${vr})`;
  }
  return undefined;
}

/** The element after an admin's override: the original (keep), nothing, an empty value, or the configured value. */
export function applyOverride(el: DicomElement, override: TagOverride): DicomElement | undefined {
  switch (override.action) {
    case 'keep': {
      const out: DicomElement = { vr: el.vr };
      if (el.Value !== undefined) out.Value = el.Value;
      if (el._rawValue !== undefined) out._rawValue = el._rawValue;
      return out;
    }
    case 'remove':
      return undefined;
    case 'empty':
      return { vr: el.vr, Value: [] };
    case 'replace':
      return { vr: el.vr, Value: replacementValues(el.vr, override.value ?? '') };
  }
}

export function replacementValues(vr: string, value: string): unknown[] {
  if (BINARY_NUMBER_VRS.has(vr)) return [Number(value)];
  const parts = vr === 'LT' || vr === 'ST' || vr === 'UT' ? [value] : value.split('\\');
  return vr === 'PN' ? parts.map((p) => ({ Alphabetic: p })) : parts;
}
