/** Transfer syntax UIDs as PS3.6 Table A-1 names them, and the groups the engine reads by. */
export const TRANSFER_SYNTAX = {
  ImplicitVRLittleEndian: '1.2.840.10008.1.2',
  ExplicitVRLittleEndian: '1.2.840.10008.1.2.1',
  EncapsulatedUncompressedExplicitVRLittleEndian: '1.2.840.10008.1.2.1.98',
  DeflatedExplicitVRLittleEndian: '1.2.840.10008.1.2.1.99',
  ExplicitVRBigEndian: '1.2.840.10008.1.2.2',
  JPEGBaseline8Bit: '1.2.840.10008.1.2.4.50',
  JPEGExtended12Bit: '1.2.840.10008.1.2.4.51',
  JPEGLossless: '1.2.840.10008.1.2.4.57',
  JPEGLosslessSV1: '1.2.840.10008.1.2.4.70',
  JPEGLSLossless: '1.2.840.10008.1.2.4.80',
  JPEGLSNearLossless: '1.2.840.10008.1.2.4.81',
  JPEG2000Lossless: '1.2.840.10008.1.2.4.90',
  JPEG2000: '1.2.840.10008.1.2.4.91',
  JPIPReferenced: '1.2.840.10008.1.2.4.94',
  JPIPReferencedDeflate: '1.2.840.10008.1.2.4.95',
  RLELossless: '1.2.840.10008.1.2.5',
  DeflatedImageFrameCompression: '1.2.840.10008.1.2.8.1',
} as const;

/**
 * Syntaxes whose whole dataset (after the file meta) is deflated (PS3.5 A.5 and A.7): Deflated
 * Explicit VR Little Endian and JPIP Referenced Deflate. Not Deflated Image Frame Compression
 * (1.2.840.10008.1.2.8.1): there only the pixel data frames are deflated, inside an encapsulated
 * Pixel Data of an ordinary explicit VR little endian dataset.
 */
export const DEFLATED_DATASET_SYNTAXES: ReadonlySet<string> = new Set([
  TRANSFER_SYNTAX.DeflatedExplicitVRLittleEndian,
  TRANSFER_SYNTAX.JPIPReferencedDeflate,
]);

/** Syntaxes whose pixel data is native (not encapsulated): the pixels can be read as they are. */
export const NATIVE_PIXEL_SYNTAXES: ReadonlySet<string> = new Set([
  TRANSFER_SYNTAX.ImplicitVRLittleEndian,
  TRANSFER_SYNTAX.ExplicitVRLittleEndian,
  TRANSFER_SYNTAX.ExplicitVRBigEndian,
  TRANSFER_SYNTAX.DeflatedExplicitVRLittleEndian,
]);

/** The root of UIDs defined by the standard (SOP classes, transfer syntaxes, coding schemes). */
export const DICOM_UID_ROOT = '1.2.840.10008.';
