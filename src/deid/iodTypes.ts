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
import { SOP_CLASS } from '../dicom/sopClasses';
import { TAG } from '../dicom/tags';

export type AttributeType = 1 | 2 | 3;

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

const BY_SOP_CLASS: Readonly<Record<string, Readonly<Record<string, AttributeType>>>> = {
  [SOP_CLASS.CTImageStorage]: WITH_CONTRAST, // CT Image
  [SOP_CLASS.MRImageStorage]: WITH_CONTRAST, // MR Image
  [SOP_CLASS.ComputedRadiographyImageStorage]: WITH_CONTRAST, // Computed Radiography Image
  [SOP_CLASS.NuclearMedicineImageStorage]: CLASSIC_IMAGE, // NM Image
  [SOP_CLASS.PositronEmissionTomographyImageStorage]: CLASSIC_IMAGE, // PET Image
  [SOP_CLASS.DigitalXRayImageStorageForPresentation]: PROJECTION_XRAY, // Digital X-Ray, for presentation
  [SOP_CLASS.DigitalXRayImageStorageForProcessing]: PROJECTION_XRAY, // Digital X-Ray, for processing
  [SOP_CLASS.DigitalMammographyXRayImageStorageForPresentation]: PROJECTION_XRAY, // Digital Mammography, for presentation
  [SOP_CLASS.DigitalMammographyXRayImageStorageForProcessing]: PROJECTION_XRAY, // Digital Mammography, for processing
  [SOP_CLASS.DigitalIntraOralXRayImageStorageForPresentation]: PROJECTION_XRAY, // Digital Intra-Oral X-Ray, for presentation
  [SOP_CLASS.DigitalIntraOralXRayImageStorageForProcessing]: PROJECTION_XRAY, // Digital Intra-Oral X-Ray, for processing
  [SOP_CLASS.EnhancedCTImageStorage]: ENHANCED_IMAGE, // Enhanced CT
  [SOP_CLASS.EnhancedMRImageStorage]: ENHANCED_IMAGE, // Enhanced MR
  [SOP_CLASS.EnhancedMRColorImageStorage]: ENHANCED_IMAGE, // Enhanced MR Color
  [SOP_CLASS.EnhancedXAImageStorage]: ENHANCED_IMAGE, // Enhanced XA
  [SOP_CLASS.EnhancedXRFImageStorage]: ENHANCED_IMAGE, // Enhanced XRF
  [SOP_CLASS.EnhancedPETImageStorage]: ENHANCED_IMAGE, // Enhanced PET
  [SOP_CLASS.BreastTomosynthesisImageStorage]: ENHANCED_IMAGE, // Breast Tomosynthesis
  [SOP_CLASS.BasicTextSRStorage]: SR_DOCUMENT, // Basic Text SR
  [SOP_CLASS.EnhancedSRStorage]: SR_DOCUMENT, // Enhanced SR
  [SOP_CLASS.ComprehensiveSRStorage]: SR_DOCUMENT, // Comprehensive SR
  [SOP_CLASS.Comprehensive3DSRStorage]: SR_DOCUMENT, // Comprehensive 3D SR
  [SOP_CLASS.ExtensibleSRStorage]: SR_DOCUMENT, // Extensible SR
  [SOP_CLASS.KeyObjectSelectionDocumentStorage]: SR_DOCUMENT, // Key Object Selection
  [SOP_CLASS.XRayRadiationDoseSRStorage]: SR_DOCUMENT, // X-Ray Radiation Dose SR
};

/** The type the IOD of `sopClass` gives a top-level attribute, when the engine knows it. */
export function attributeType(sopClass: string, tag: string): AttributeType | undefined {
  return BY_SOP_CLASS[sopClass]?.[tag];
}
