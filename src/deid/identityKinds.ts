/**
 * Data, no decisions: which attributes of Table E.1-1 hold a person's, a place's or a device's
 * identity, with the kind of value an operator reads in a quarantine reason. The engine
 * (identifying.ts) and the gate's own reading (verify/originals.ts) both use it.
 */
import { entryOfKeyword } from '../dicom/dictionary';

/**
 * Attributes whose values identify a person, a place or a device (PS3.15 E.1-1 rows for names, IDs,
 * birth, address, contact, accession, institution, station and device serial), with the kind of
 * value an operator reads in a quarantine reason. Every PN element (a person's name) and every
 * instance UID are identity values too; see identityKind.
 */
export const IDENTITY_KEYWORDS: Readonly<Record<string, string>> = {
  PatientID: 'patient ID',
  IssuerOfPatientID: 'issuer of patient ID',
  OtherPatientIDs: 'other patient ID',
  TypeOfPatientID: 'patient ID type',
  PatientBirthDate: 'patient birth date',
  PatientBirthTime: 'patient birth time',
  PatientAddress: 'patient address',
  PatientTelephoneNumbers: 'telephone number',
  PatientTelecomInformation: 'telecom information',
  MilitaryRank: 'military rank',
  BranchOfService: 'branch of service',
  MedicalRecordLocator: 'medical record locator',
  RegionOfResidence: 'region of residence',
  CountryOfResidence: 'country of residence',
  AccessionNumber: 'accession number',
  AdmissionID: 'admission ID',
  IssuerOfAdmissionIDSequence: 'issuer of admission ID',
  StudyID: 'study ID',
  RequestedProcedureID: 'requested procedure ID',
  PerformedProcedureStepID: 'procedure step ID',
  ScheduledProcedureStepID: 'procedure step ID',
  PlacerOrderNumberImagingServiceRequest: 'order number',
  FillerOrderNumberImagingServiceRequest: 'order number',
  ServiceEpisodeID: 'service episode ID',
  InstitutionName: 'institution name',
  InstitutionAddress: 'institution address',
  InstitutionalDepartmentName: 'department name',
  ReferringPhysicianAddress: 'physician address',
  ReferringPhysicianTelephoneNumbers: 'telephone number',
  PersonAddress: 'person address',
  PersonTelephoneNumbers: 'telephone number',
  PersonTelecomInformation: 'telecom information',
  StationName: 'station name',
  DeviceSerialNumber: 'device serial number',
  DeviceUID: 'device UID',
  UniqueDeviceIdentifier: 'device identifier',
  DetectorID: 'detector ID',
  GantryID: 'gantry ID',
  ContentCreatorName: 'person name',
  VerifyingOrganization: 'institution name',
};

/** Sequences whose every text value identifies someone (a person's codes, other IDs, an institution's code). */
export const IDENTITY_SEQUENCES: Readonly<Record<string, string>> = {
  PersonIdentificationCodeSequence: 'person identification code',
  OtherPatientIDsSequence: 'other patient ID',
  InstitutionCodeSequence: 'institution code',
  IssuerOfAccessionNumberSequence: 'issuer of accession number',
  IssuerOfPatientIDQualifiersSequence: 'issuer of patient ID',
  OperatorIdentificationSequence: 'person identification code',
  PhysiciansOfRecordIdentificationSequence: 'person identification code',
  PerformingPhysicianIdentificationSequence: 'person identification code',
  PhysiciansReadingStudyIdentificationSequence: 'person identification code',
  ReferringPhysicianIdentificationSequence: 'person identification code',
  VerifyingObserverIdentificationCodeSequence: 'person identification code',
};

function byTag(names: Readonly<Record<string, string>>): ReadonlyMap<string, string> {
  const out = new Map<string, string>();
  for (const [keyword, kind] of Object.entries(names)) {
    const entry = entryOfKeyword(keyword);
    if (entry) out.set(entry.tag, kind);
  }
  return out;
}
/** IDENTITY_KEYWORDS by tag ("GGGGEEEE"). */
export const IDENTITY_TAGS = byTag(IDENTITY_KEYWORDS);
/** IDENTITY_SEQUENCES by tag. */
export const IDENTITY_SEQUENCE_TAGS = byTag(IDENTITY_SEQUENCES);
