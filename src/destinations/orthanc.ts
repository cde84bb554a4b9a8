/** An Orthanc peer through its REST API: today's destination, unchanged behind the seam. */
import type { OrthancServerConfig } from '../config';
import { OrthancClient, Status } from '../orthanc/client';
import { orthancInstanceId, orthancStudyId } from '../orthanc/ids';
import type { Destination, InstanceKey, Receipt } from './types';

export class OrthancDestination implements Destination {
  readonly kind = 'orthanc';
  readonly proves = 'bytes';
  readonly canReplace = true;
  /** `POST /instances` settles after its body is written (orthanc/transfer.ts). */
  readonly releasesParts = true;
  readonly client: OrthancClient;

  constructor(
    readonly label: string,
    private readonly cfg: OrthancServerConfig,
  ) {
    this.client = new OrthancClient({ ...cfg, label });
  }

  async store(parts: readonly Buffer[]): Promise<Receipt> {
    const r = await this.client.storeInstance(parts);
    return { id: r.ID, studyId: r.ParentStudy, already: r.Status === Status.AlreadyStored };
  }

  async held(id: string): Promise<string | undefined> {
    return this.client.instanceMd5(id);
  }

  async read(id: string, maxBytes: number): Promise<Buffer | undefined> {
    return this.client.instanceFile(id, maxBytes);
  }

  idOf(key: InstanceKey): string {
    return orthancInstanceId(key.patientId, key.studyUid, key.seriesUid, key.sopUid);
  }

  studyIdOf(key: InstanceKey): string {
    return orthancStudyId(key.patientId, key.studyUid);
  }

  deleteInstance(id: string): Promise<void> {
    return this.client.deleteInstance(id);
  }

  deleteStudy(studyId: string): Promise<void> {
    return this.client.deleteStudy(studyId);
  }

  async probe(): Promise<string> {
    return `Orthanc ${await this.client.version()} at ${this.cfg.url}`;
  }
}
