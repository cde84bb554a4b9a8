/**
 * A research destination, whatever protocol it speaks: the instance stages store through this
 * seam and confirm through it; only the adapters (orthanc.ts, dicomweb.ts) speak their protocol.
 */

/** What a destination can prove about what it holds. */
export type Proof = 'bytes' | 'presence' | 'commitment' | 'nothing';

/** The UIDs (and pseudonym) of a de-identified instance, from which a destination names it. */
export interface InstanceKey {
  readonly patientId: string;
  readonly studyUid: string;
  readonly seriesUid: string;
  readonly sopUid: string;
  /** The SOP Class UID (a storage commitment request names each instance with its class). */
  readonly sopClassUid?: string;
  /** Values for file names (a folder destination's pattern): StudyDate, Modality, InstanceNumber... */
  readonly fields?: Readonly<Record<string, string>>;
}

/** What a destination answered to a store: its own ID of the instance and of its study. */
export interface Receipt {
  /** Opaque: the Orthanc instance ID, or the DICOMweb "study/series/instance" UIDs. */
  readonly id: string;
  readonly studyId: string;
  /** It held the instance already (a replay, or a copy of the same SOP instance). */
  readonly already: boolean;
}

export interface Destination {
  readonly kind: 'orthanc' | 'dicomweb' | 'dimse' | 'folder';
  /** The destination's name, for errors and logs. */
  readonly label: string;
  /**
   * `bytes`: it returns what it holds, compared by MD5 with what was sent; `presence`: only that it
   * holds it; `commitment`: it took responsibility for it (DICOM storage commitment); `nothing`:
   * it cannot be asked (the store's own status is all there is).
   */
  readonly proves: Proof;
  /** Whether it can delete an instance or a study (to replace one on reprocess). */
  readonly canReplace: boolean;
  store(parts: readonly Buffer[], key: InstanceKey): Promise<Receipt>;
  /**
   * True where `store` settles, stored or failed, only once nothing reads the parts any more: the
   * pulled file they are views of may then be reused for another instance (util/bufferPool.ts).
   * Absent: the parts may still be read after (a stream, a batch), and the file is never reused.
   */
  readonly releasesParts?: boolean;
  /**
   * What it holds for a receipt: undefined when nothing; the MD5 of the stored bytes where it
   * proves bytes; `present` where it proves presence only.
   */
  held(id: string): Promise<string | 'present' | undefined>;
  /** The same for many receipts at once, where the destination answers for a batch (storage commitment). */
  heldAll?(ids: readonly string[]): Promise<Array<string | 'present' | undefined>>;
  /**
   * The bytes it holds for a receipt, at most `maxBytes` (the review's previews): absent where the
   * kind cannot be read back (a DICOM peer).
   */
  read?(id: string, maxBytes: number): Promise<Buffer | undefined>;
  /** Releases what the destination holds open (a listener for the peer's reports). */
  close?(): Promise<void>;
  /** The receipt ID it would give the instance (for checks that compare without storing). */
  idOf(key: InstanceKey): string;
  /** The ID it gives the instance's study. */
  studyIdOf(key: InstanceKey): string;
  deleteInstance(id: string): Promise<void>;
  deleteStudy(studyId: string): Promise<void>;
  /** Asks the destination whether it answers, with the configured credentials: what it said, or a BridgeError. */
  probe(): Promise<string>;
}

/**
 * The IDs a destination without IDs of its own gives (DICOMweb, DIMSE): the instance is named by
 * its UIDs, "study/series/instance", and its study by the Study Instance UID.
 */
export abstract class NamedByUids {
  idOf(key: InstanceKey): string {
    return `${key.studyUid}/${key.seriesUid}/${key.sopUid}`;
  }

  studyIdOf(key: InstanceKey): string {
    return key.studyUid;
  }
}
