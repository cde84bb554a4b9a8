/**
 * Attribute types (1, 2, 3) that the engine knows for the attributes with combined action codes
 * (Z/D, X/Z, X/D, X/Z/D), per SOP class, at the top level of the dataset. PS3.15 E.1.1 resolves a
 * combined code by the type the IOD gives the attribute: D where a value is required (Type 1),
 * Z where it may be empty (Type 2), X where it is optional (Type 3).
 *
 * Sources, DICOM PS3.3 (2024b) module tables:
 * - General Image (C.7.6.1): Content Date/Time Type 2C, treated as 2 (a value may be empty).
 * - Multi-frame Functional Groups (C.7.6.16): Content Date/Time Type 1 (enhanced IODs).
 * - SR Document General (C.17.2): Content Date/Time Type 1.
 * - Enhanced General Equipment (C.7.5.2): Device Serial Number Type 1.
 * - General Equipment (C.7.5.1): Institution Name, Station Name, Device Serial Number Type 3.
 * - General Series (C.7.3.1): Operators' Name, Protocol Name, Series Date/Time Type 3.
 * - General Acquisition (C.7.10.1): Acquisition Date/Time/DateTime Type 3.
 * - SOP Common (C.12.1): Instance Creation Date/Time Type 3.
 * - Acquisition Context (C.7.6.14): Acquisition Context Sequence Type 2 (DX, MG, IO IODs).
 * - Contrast/Bolus (C.7.6.4): Contrast/Bolus Agent Type 2.
 *
 * Only SOP classes whose IOD includes these modules as listed are here; for any other SOP class,
 * and inside sequences, the engine takes the stronger action.
 */
export type AttributeType = 1 | 2 | 3;

const TAG = {
  ContentDate: '00080023',
  ContentTime: '00080033',
  AcquisitionDate: '00080022',
  AcquisitionTime: '00080032',
  AcquisitionDateTime: '0008002A',
  SeriesDate: '00080021',
  SeriesTime: '00080031',
  InstanceCreationDate: '00080012',
  InstanceCreationTime: '00080013',
  InstitutionName: '00080080',
  StationName: '00081010',
  DeviceSerialNumber: '00181000',
  OperatorsName: '00081070',
  ProtocolName: '00181030',
  AcquisitionContextSequence: '00400555',
  ContrastBolusAgent: '00180010',
} as const;

/** Modules shared by every image IOD here (General Equipment/Series/Acquisition, SOP Common). */
const COMMON: Readonly<Record<string, AttributeType>> = {
  [TAG.InstitutionName]: 3,
  [TAG.StationName]: 3,
  [TAG.OperatorsName]: 3,
  [TAG.ProtocolName]: 3,
  [TAG.SeriesDate]: 3,
  [TAG.SeriesTime]: 3,
  [TAG.InstanceCreationDate]: 3,
  [TAG.InstanceCreationTime]: 3,
};

const CLASSIC_IMAGE: Readonly<Record<string, AttributeType>> = {
  ...COMMON,
  [TAG.DeviceSerialNumber]: 3,
  [TAG.ContentDate]: 2,
  [TAG.ContentTime]: 2,
  [TAG.AcquisitionDate]: 3,
  [TAG.AcquisitionTime]: 3,
  [TAG.AcquisitionDateTime]: 3,
};

const WITH_CONTRAST: Readonly<Record<string, AttributeType>> = {
  ...CLASSIC_IMAGE,
  [TAG.ContrastBolusAgent]: 2,
};

const PROJECTION_XRAY: Readonly<Record<string, AttributeType>> = {
  ...CLASSIC_IMAGE,
  [TAG.AcquisitionContextSequence]: 2,
};

const ENHANCED_IMAGE: Readonly<Record<string, AttributeType>> = {
  ...COMMON,
  [TAG.DeviceSerialNumber]: 1,
  [TAG.ContentDate]: 1,
  [TAG.ContentTime]: 1,
};

const SR_DOCUMENT: Readonly<Record<string, AttributeType>> = {
  ...COMMON,
  [TAG.DeviceSerialNumber]: 3,
  [TAG.ContentDate]: 1,
  [TAG.ContentTime]: 1,
};

const P = '1.2.840.10008.5.1.4.1.1.';
const BY_SOP_CLASS: Readonly<Record<string, Readonly<Record<string, AttributeType>>>> = {
  [`${P}2`]: WITH_CONTRAST, // CT Image
  [`${P}4`]: WITH_CONTRAST, // MR Image
  [`${P}1`]: WITH_CONTRAST, // Computed Radiography Image
  [`${P}20`]: CLASSIC_IMAGE, // NM Image
  [`${P}128`]: CLASSIC_IMAGE, // PET Image
  [`${P}1.1`]: PROJECTION_XRAY, // Digital X-Ray, for presentation
  [`${P}1.1.1`]: PROJECTION_XRAY, // Digital X-Ray, for processing
  [`${P}1.2`]: PROJECTION_XRAY, // Digital Mammography, for presentation
  [`${P}1.2.1`]: PROJECTION_XRAY, // Digital Mammography, for processing
  [`${P}1.3`]: PROJECTION_XRAY, // Digital Intra-Oral X-Ray, for presentation
  [`${P}1.3.1`]: PROJECTION_XRAY, // Digital Intra-Oral X-Ray, for processing
  [`${P}2.1`]: ENHANCED_IMAGE, // Enhanced CT
  [`${P}4.1`]: ENHANCED_IMAGE, // Enhanced MR
  [`${P}4.3`]: ENHANCED_IMAGE, // Enhanced MR Color
  [`${P}12.1.1`]: ENHANCED_IMAGE, // Enhanced XA
  [`${P}12.2.1`]: ENHANCED_IMAGE, // Enhanced XRF
  [`${P}128.1`]: ENHANCED_IMAGE, // Enhanced PET
  [`${P}13.1.3`]: ENHANCED_IMAGE, // Breast Tomosynthesis
  [`${P}88.11`]: SR_DOCUMENT, // Basic Text SR
  [`${P}88.22`]: SR_DOCUMENT, // Enhanced SR
  [`${P}88.33`]: SR_DOCUMENT, // Comprehensive SR
  [`${P}88.34`]: SR_DOCUMENT, // Comprehensive 3D SR
  [`${P}88.35`]: SR_DOCUMENT, // Extensible SR
  [`${P}88.59`]: SR_DOCUMENT, // Key Object Selection
  [`${P}88.67`]: SR_DOCUMENT, // X-Ray Radiation Dose SR
};

/** The type the IOD of `sopClass` gives a top-level attribute, when the engine knows it. */
export function attributeType(sopClass: string, tag: string): AttributeType | undefined {
  return BY_SOP_CLASS[sopClass]?.[tag];
}

export const KNOWN_IOD_SOP_CLASSES: readonly string[] = Object.keys(BY_SOP_CLASS);
