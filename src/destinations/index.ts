/** Opens the destination a config entry names, by its kind. */
import type { DestinationConfig } from '../config';
import { DicomWebDestination } from './dicomweb';
import { DimseDestination } from './dimse';
import { FolderDestination } from './folder';
import { OrthancDestination } from './orthanc';
import type { Destination } from './types';

export type { Destination, InstanceKey, Proof, Receipt } from './types';

/** `spool`: where a destination writes files another program reads (spool.ts); the system's temporary folder when not given. */
export function openDestination(name: string, cfg: DestinationConfig, spool?: string): Destination {
  if (cfg.kind === 'dicomweb') return new DicomWebDestination(name, cfg);
  if (cfg.kind === 'dimse') return new DimseDestination(name, cfg, spool);
  if (cfg.kind === 'folder') return new FolderDestination(name, cfg);
  return new OrthancDestination(name, cfg);
}
