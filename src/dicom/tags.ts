/**
 * The DICOM vocabulary of the bridge: tags by the keyword PS3.6 gives them, in one place. Every
 * other module names a tag through TAG (e.g. TAG.SOPClassUID), never as a hex literal; the
 * generated PS3.15 table is the one other place tags are written out.
 */

/** Tags as "GGGGEEEE" (upper-case hex), the form dcmjs datasets are keyed by. */
export const TAG = {
  FileMetaInformationGroupLength: '00020000',
  FileMetaInformationVersion: '00020001',
  MediaStorageSOPClassUID: '00020002',
  MediaStorageSOPInstanceUID: '00020003',
  TransferSyntaxUID: '00020010',
  ImplementationClassUID: '00020012',
  ImplementationVersionName: '00020013',
  ReferencedSOPClassUIDInFile: '00041510',
  ReferencedTransferSyntaxUIDInFile: '00041512',
  ReferencedRelatedGeneralSOPClassUIDInFile: '0004151A',
  SpecificCharacterSet: '00080005',
  InstanceCreationDate: '00080012',
  InstanceCreationTime: '00080013',
  SOPClassUID: '00080016',
  SOPInstanceUID: '00080018',
  RelatedGeneralSOPClassUID: '0008001A',
  OriginalSpecializedSOPClassUID: '0008001B',
  StudyDate: '00080020',
  SeriesDate: '00080021',
  AcquisitionDate: '00080022',
  ContentDate: '00080023',
  AcquisitionDateTime: '0008002A',
  SeriesTime: '00080031',
  AcquisitionTime: '00080032',
  ContentTime: '00080033',
  Modality: '00080060',
  SOPClassesInStudy: '00080062',
  Manufacturer: '00080070',
  InstitutionName: '00080080',
  InstitutionCodeSequence: '00080082',
  CodeValue: '00080100',
  CodingSchemeDesignator: '00080102',
  CodeMeaning: '00080104',
  CodingSchemeUID: '0008010C',
  ContextUID: '00080117',
  TimezoneOffsetFromUTC: '00080201',
  StationName: '00081010',
  OperatorsName: '00081070',
  OperatorIdentificationSequence: '00081072',
  ManufacturerModelName: '00081090',
  ReferencedPerformedProcedureStepSequence: '00081111',
  ReferencedSOPClassUID: '00081150',
  ReferencedSOPInstanceUID: '00081155',
  AvailableTransferSyntaxUID: '00083002',
  DirectoryRecordSequence: '00041220',
  DirectoryRecordType: '00041430',
  PatientName: '00100010',
  PatientID: '00100020',
  IssuerOfPatientID: '00100021',
  PatientIdentityRemoved: '00120062',
  DeidentificationMethod: '00120063',
  DeidentificationMethodCodeSequence: '00120064',
  ContrastBolusAgent: '00180010',
  BodyPartExamined: '00180015',
  DeviceSerialNumber: '00181000',
  SoftwareVersions: '00181020',
  ProtocolName: '00181030',
  PatientPosition: '00185100',
  ViewPosition: '00185101',
  SequenceOfUltrasoundRegions: '00186011',
  RegionLocationMinX0: '00186018',
  RegionLocationMinY0: '0018601A',
  RegionLocationMaxX1: '0018601C',
  RegionLocationMaxY1: '0018601E',
  StudyInstanceUID: '0020000D',
  SeriesInstanceUID: '0020000E',
  SeriesNumber: '00200011',
  InstanceNumber: '00200013',
  Laterality: '00200060',
  ImageLaterality: '00200062',
  SamplesPerPixel: '00280002',
  PhotometricInterpretation: '00280004',
  PlanarConfiguration: '00280006',
  NumberOfFrames: '00280008',
  Rows: '00280010',
  Columns: '00280011',
  BitsAllocated: '00280100',
  BitsStored: '00280101',
  HighBit: '00280102',
  PixelRepresentation: '00280103',
  WindowCenter: '00281050',
  WindowWidth: '00281051',
  RescaleIntercept: '00281052',
  RescaleSlope: '00281053',
  RedPaletteColorLookupTableDescriptor: '00281101',
  GreenPaletteColorLookupTableDescriptor: '00281102',
  BluePaletteColorLookupTableDescriptor: '00281103',
  RedPaletteColorLookupTableData: '00281201',
  GreenPaletteColorLookupTableData: '00281202',
  BluePaletteColorLookupTableData: '00281203',
  BurnedInAnnotation: '00280301',
  LongitudinalTemporalInformationModified: '00280303',
  LossyImageCompression: '00282110',
  FlowIdentifierSequence: '00340001',
  FlowIdentifier: '00340002',
  AcquisitionContextSequence: '00400555',
  PersonIdentificationCodeSequence: '00401101',
  RelationshipType: '0040A010',
  VerifyingOrganization: '0040A027',
  ValueType: '0040A040',
  ConceptNameCodeSequence: '0040A043',
  VerifyingObserverSequence: '0040A073',
  VerifyingObserverName: '0040A075',
  VerificationDateTime: '0040A030',
  VerifyingObserverIdentificationCodeSequence: '0040A088',
  TextValue: '0040A160',
  ContentSequence: '0040A730',
  FloatPixelData: '7FE00008',
  DoubleFloatPixelData: '7FE00009',
  PixelData: '7FE00010',
  StudyDescription: '00081030',
  PatientSex: '00100040',
  FrameOfReferenceUID: '00200052',
  SourceApplicationEntityTitle: '00020016',
  ImageType: '00080008',
  InstanceCreatorUID: '00080014',
  StudyTime: '00080030',
  AccessionNumber: '00080050',
  InstitutionAddress: '00080081',
  ReferringPhysicianName: '00080090',
  ProcedureCodeSequence: '00081032',
  SeriesDescription: '0008103E',
  InstitutionalDepartmentName: '00081040',
  ReferencedStudySequence: '00081110',
  ReferencedImageSequence: '00081140',
  AnatomicRegionSequence: '00082218',
  PatientBirthDate: '00100030',
  OtherPatientIDs: '00101000',
  OtherPatientNames: '00101001',
  OtherPatientIDsSequence: '00101002',
  PatientAge: '00101010',
  PatientSize: '00101020',
  PatientWeight: '00101030',
  PatientAddress: '00101040',
  Allergies: '00102110',
  PatientTelephoneNumbers: '00102154',
  AdditionalPatientHistory: '001021B0',
  PatientComments: '00104000',
  RegionSpatialFormat: '00186012',
  RegionDataType: '00186014',
  StudyID: '00200010',
  AcquisitionNumber: '00200012',
  SliceLocation: '00201041',
  ImageComments: '00204000',
  RequestingPhysician: '00321032',
  RequestedProcedureDescription: '00321060',
  SpecialNeeds: '00380050',
  ScheduledProcedureStepID: '00400009',
  RequestAttributesSequence: '00400275',
  RequestedProcedureID: '00401001',
  PersonName: '0040A123',
  EncapsulatedDocument: '00420011',
  MIMETypeOfEncapsulatedDocument: '00420012',
  GraphicAnnotationSequence: '00700001',
  UnformattedTextValue: '00700006',
  TextObjectSequence: '00700008',
  ReferencedRTPlanSequence: '300C0002',
  FailureReason: '00081197',
  FailedSOPSequence: '00081198',
  ReferencedSOPSequence: '00081199',
  FrameAcquisitionDateTime: '00189074',
  FrameContentSequence: '00209111',
  FrameAcquisitionNumber: '00209156',
  SharedFunctionalGroupsSequence: '52009229',
  PerFrameFunctionalGroupsSequence: '52009230',
  BeamSequence: '300A00B0',
  TreatmentMachineName: '300A00B2',
  BeamNumber: '300A00C0',
} as const;

export type TagKeyword = keyof typeof TAG;

/** The numeric form of a tag ("00080016" -> 0x00080016), for readers that walk bytes. */
export function tagNumber(tag: string): number {
  return parseInt(tag, 16) >>> 0;
}

/**
 * The tag ("GGGGEEEE") of a group and an element: for elements that have no keyword, private ones
 * (group odd) and repeating groups (Overlay 60xx). Every named element is in TAG.
 */
export function tagOf(group: number, element: number): string {
  return (((group & 0xffff) << 16) | (element & 0xffff)).toString(16).padStart(8, '0').toUpperCase();
}

/** The tag a reason names when no element is at fault (the dataset as a whole could not be read). */
export const NO_ELEMENT = '00000000';

/** "(GGGG,EEEE)", as reasons and logs write a tag. */
export function formatTag(tag: string): string {
  return `(${tag.slice(0, 4)},${tag.slice(4)})`;
}

/** Item and delimiter tags of PS3.5 7.5 (group FFFE): no VR in any transfer syntax. */
export const ITEM = 0xfffee000;
export const ITEM_DELIMITATION_ITEM = 0xfffee00d;
export const SEQUENCE_DELIMITATION_ITEM = 0xfffee0dd;

/**
 * (0008,0004) is not defined by PS3.6: the engine renames Specific Character Set to it in its copy
 * of the bytes while dcmjs reads them, so that dcmjs decodes no text itself (see textWalk.ts).
 */
export const HIDDEN_CHARSET_TAG = '00080004';
