/**
 * DICOM PS3.16 CID 7050 "De-identification Method" (coding scheme DCM), transcribed from the
 * standard (shared/reference/dicom-cid-7050-deidentification-method-codes.json).
 */
import type { OptionName } from './types';

export const CID_7050: Readonly<Record<string, string>> = Object.freeze({
  '113100': 'Basic Application Confidentiality Profile',
  '113101': 'Clean Pixel Data Option',
  '113102': 'Clean Recognizable Visual Features Option',
  '113103': 'Clean Graphics Option',
  '113104': 'Clean Structured Content Option',
  '113105': 'Clean Descriptors Option',
  '113106': 'Retain Longitudinal Temporal Information Full Dates Option',
  '113107': 'Retain Longitudinal Temporal Information Modified Dates Option',
  '113108': 'Retain Patient Characteristics Option',
  '113109': 'Retain Device Identity Option',
  '113110': 'Retain UIDs Option',
  '113111': 'Retain Safe Private Option',
  '113112': 'Retain Institution Identity Option',
});

/** The code of the Basic Application Confidentiality Profile. */
export const BASIC_PROFILE_CODE = '113100';
/** The code of the Clean Pixel Data Option. */
export const CLEAN_PIXEL_DATA_CODE = '113101';

/** Each profile option's code in CID 7050. */
export const OPTION_CODE: Readonly<Record<OptionName, string>> = Object.freeze({
  cleanGraphics: '113103',
  cleanStructuredContent: '113104',
  cleanDescriptors: '113105',
  retainLongitudinalFullDates: '113106',
  retainLongitudinalModifiedDates: '113107',
  retainPatientCharacteristics: '113108',
  retainDeviceIdentity: '113109',
  retainUids: '113110',
  retainSafePrivate: '113111',
  retainInstitutionIdentity: '113112',
});
