/** A file the engine cannot read as DICOM. The message names what is wrong, never a value of the file. */
export class DicomParseError extends Error {
  override readonly name = 'DicomParseError';
}
