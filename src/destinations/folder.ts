/**
 * A folder as a destination: each de-identified file written under `dir` by the file-name pattern
 * (folderFiles.ts, atomic, its own file mode); confirmed by reading the file back (its MD5). It
 * cannot delete a study (a reprocess rewrites each instance's file in place).
 */
import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync, mkdirSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import type { DestinationConfig } from '../config';
import { PermanentError } from '../errors';
import { nearestExisting, sinkPath, writeToSink } from './folderFiles';
import type { Destination, InstanceKey, Receipt } from './types';

export class FolderDestination implements Destination {
  readonly kind = 'folder';
  readonly proves = 'bytes';
  readonly canReplace = false;
  /** The file is written synchronously before `store` returns. */
  readonly releasesParts = true;
  private readonly folder: NonNullable<DestinationConfig['folderSink']>;

  constructor(
    readonly label: string,
    cfg: DestinationConfig,
  ) {
    this.folder = cfg.folderSink!;
  }

  private fields(key: InstanceKey): Record<string, string | undefined> {
    return {
      ...key.fields,
      pseudonym: key.patientId,
      SOPInstanceUID: key.sopUid,
      StudyInstanceUID: key.studyUid,
    };
  }

  async store(parts: readonly Buffer[], key: InstanceKey): Promise<Receipt> {
    mkdirSync(this.folder.dir, { recursive: true });
    const file = writeToSink(
      this.folder.dir,
      this.folder.pattern,
      this.fields(key),
      parts,
      this.folder.fileMode,
    );
    return { id: path.relative(this.folder.dir, file), studyId: key.studyUid, already: false };
  }

  /** The file a receipt names, when it is inside the folder and there. */
  private fileOf(id: string): string | undefined {
    const file = path.resolve(this.folder.dir, id);
    return file.startsWith(path.resolve(this.folder.dir) + path.sep) && existsSync(file) ? file : undefined;
  }

  async held(id: string): Promise<string | undefined> {
    const file = this.fileOf(id);
    return file === undefined ? undefined : createHash('md5').update(readFileSync(file)).digest('hex');
  }

  async read(id: string, maxBytes: number): Promise<Buffer | undefined> {
    const file = this.fileOf(id);
    if (file === undefined) return undefined;
    if (statSync(file).size > maxBytes)
      throw new PermanentError('FOLDER_TOO_LARGE', `${this.label}: the file is larger than a preview reads`);
    return readFileSync(file);
  }

  idOf(key: InstanceKey): string {
    return path.relative(this.folder.dir, sinkPath(this.folder.dir, this.folder.pattern, this.fields(key)));
  }

  studyIdOf(key: InstanceKey): string {
    return key.studyUid;
  }

  async deleteInstance(id: string): Promise<void> {
    const file = this.fileOf(id);
    if (file !== undefined) unlinkSync(file);
  }

  deleteStudy(): Promise<void> {
    return Promise.reject(
      new PermanentError(
        'FOLDER_NO_STUDY_DELETE',
        `${this.label}: a folder destination does not delete studies`,
      ),
    );
  }

  async probe(): Promise<string> {
    try {
      accessSync(nearestExisting(this.folder.dir), constants.W_OK);
    } catch {
      throw new PermanentError(
        'FOLDER_NOT_WRITABLE',
        `${this.label}: ${this.folder.dir} cannot be written by this account`,
      );
    }
    return `folder ${this.folder.dir} can be written`;
  }
}
