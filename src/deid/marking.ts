/**
 * What the engine writes of its own, never from the input: the de-identification marking
 * (PS3.15 E.1.1: PatientIdentityRemoved, DeidentificationMethod, the CID 7050 codes,
 * LongitudinalTemporalInformationModified) and the dummy items that replace whole sequences.
 */
import { SOP_CLASS } from '../dicom/sopClasses';
import { TAG } from '../dicom/tags';
import { CID_7050 } from './cid7050';
import { IDENTIFYING_CODE_SEQUENCES, isContentSequence, REMOVED_CODE, REMOVED_CONTENT_TEXT } from './clean';
import { methodCodes, rowForTag, type DeidProfile } from './profile';
import { TABLE_REVISION } from './table.generated';
import type { Dataset } from './types';
import { dummyValue } from './values';

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
 * The items a D writes in place of a whole sequence (PS3.15 E.1.1: a D on a sequence replaces it;
 * its items are never walked): one dummy code for the sequences whose codes name a person or an
 * institution, a person identified only by that dummy code for operators, one dummy TEXT item for
 * SR content, and one empty item for any other sequence (Flow Identifier, Verifying Observer,
 * Referenced Performed Procedure Step: a value planted in their items reached research when they
 * were walked, issue 23). The engine writes them and the gate expects them from this one place.
 * Graphic annotations are written without items (see docs).
 */
export function dummyItemsFor(tag: string): Dataset[] {
  if (IDENTIFYING_CODE_SEQUENCES.has(tag)) return [removedCodeItem()];
  if (tag === TAG.ContentSequence) return [removedContentItem()];
  // Graphic annotations: any conforming item draws on the image (see docs), so none is written.
  if (isContentSequence(rowForTag(tag))) return [];
  if (tag === TAG.OperatorIdentificationSequence)
    return [{ [TAG.PersonIdentificationCodeSequence]: { vr: 'SQ', Value: [removedCodeItem()] } }];
  if (tag === TAG.VerifyingObserverSequence)
    return [
      {
        [TAG.VerifyingOrganization]: { vr: 'LO', Value: [REMOVED_CODE.value] },
        [TAG.VerifyingObserverName]: { vr: 'PN', Value: [{ Alphabetic: REMOVED_CODE.value }] },
        [TAG.VerifyingObserverIdentificationCodeSequence]: { vr: 'SQ', Value: [] },
        // Type 1 in the item (PS3.3 C.17.2): a dummy, no one's verification time.
        [TAG.VerificationDateTime]: { vr: 'DT', Value: dummyValue('DT', undefined) },
      },
    ];
  if (tag === TAG.FlowIdentifierSequence)
    return [{ [TAG.FlowIdentifier]: { vr: 'OB', Value: [new ArrayBuffer(2)] } }];
  if (tag === TAG.ReferencedPerformedProcedureStepSequence)
    return [
      {
        [TAG.ReferencedSOPClassUID]: { vr: 'UI', Value: [SOP_CLASS.ModalityPerformedProcedureStep] },
        [TAG.ReferencedSOPInstanceUID]: { vr: 'UI', Value: [DUMMY_UID] },
      },
    ];
  // A sequence the table does not name with D: an item that says only that it was removed.
  return [removedCodeItem()];
}

/** The UID a dummy reference names: the root of UUID-derived UIDs (PS3.5 B.2), no instance of anyone. */
export const DUMMY_UID = '2.25.0';
