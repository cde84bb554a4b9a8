/**
 * What the engine writes of its own, never from the input: the de-identification marking
 * (PS3.15 E.1.1: PatientIdentityRemoved, DeidentificationMethod, the CID 7050 codes,
 * LongitudinalTemporalInformationModified) and the dummy items that replace whole sequences.
 */
import { TAG } from '../dicom/tags';
import { CID_7050 } from './cid7050';
import { IDENTIFYING_CODE_SEQUENCES, REMOVED_CODE, REMOVED_CONTENT_TEXT } from './clean';
import { methodCodes, type DeidProfile } from './profile';
import { TABLE_REVISION } from './table.generated';
import type { Dataset } from './types';

export function removedCodeItem(): Dataset {
  return {
    [TAG.CodeValue]: { vr: 'SH', Value: [REMOVED_CODE.value] },
    [TAG.CodingSchemeDesignator]: { vr: 'SH', Value: [REMOVED_CODE.scheme] },
    [TAG.CodeMeaning]: { vr: 'LO', Value: [REMOVED_CODE.meaning] },
  };
}

export function removedContentItem(): Dataset {
  return {
    [TAG.RelationshipType]: { vr: 'CS', Value: ['CONTAINS'] },
    [TAG.ValueType]: { vr: 'CS', Value: ['TEXT'] },
    [TAG.ConceptNameCodeSequence]: {
      vr: 'SQ',
      Value: [
        {
          [TAG.CodeValue]: { vr: 'SH', Value: ['121106'] },
          [TAG.CodingSchemeDesignator]: { vr: 'SH', Value: ['DCM'] },
          [TAG.CodeMeaning]: { vr: 'LO', Value: ['Comment'] },
        },
      ],
    },
    [TAG.TextValue]: { vr: 'UT', Value: [REMOVED_CONTENT_TEXT] },
  };
}

function longitudinalState(profile: DeidProfile): string {
  if (profile.options.retainLongitudinalFullDates) return 'UNMODIFIED';
  if (profile.options.retainLongitudinalModifiedDates) return 'MODIFIED';
  return 'REMOVED';
}

/** The elements that mark an output as de-identified: constants of the profile, never values of the input. */
export function marking(profile: DeidProfile, pixelsCleaned: boolean): Dataset {
  const codes = methodCodes(profile.options, pixelsCleaned);
  return {
    // The writer encodes every text value as UTF-8, so the output always declares it.
    [TAG.SpecificCharacterSet]: { vr: 'CS', Value: ['ISO_IR 192'] },
    [TAG.PatientIdentityRemoved]: { vr: 'CS', Value: ['YES'] },
    [TAG.DeidentificationMethod]: {
      vr: 'LO',
      Value: [`PS3.15 E.1-1 ${TABLE_REVISION}`, `orthanc-research-bridge ${profile.name}`.slice(0, 64)],
    },
    [TAG.DeidentificationMethodCodeSequence]: {
      vr: 'SQ',
      Value: codes.map((code) => ({
        [TAG.CodeValue]: { vr: 'SH', Value: [code] },
        [TAG.CodingSchemeDesignator]: { vr: 'SH', Value: ['DCM'] },
        [TAG.CodeMeaning]: { vr: 'LO', Value: [CID_7050[code] ?? code] },
      })),
    },
    [TAG.LongitudinalTemporalInformationModified]: { vr: 'CS', Value: [longitudinalState(profile)] },
  };
}

/**
 * The items a D writes in place of a whole sequence: one dummy code for the sequences whose codes
 * name a person or an institution, one dummy TEXT item for SR content; undefined for a sequence
 * whose items are walked. The engine writes them and the gate expects them from this one place.
 */
export function dummyItemsFor(tag: string): Dataset[] | undefined {
  if (IDENTIFYING_CODE_SEQUENCES.has(tag)) return [removedCodeItem()];
  if (tag === TAG.ContentSequence) return [removedContentItem()];
  return undefined;
}
