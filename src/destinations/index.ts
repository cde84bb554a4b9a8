/** Opens the destination a config entry names, by its kind. */
import type { DestinationConfig } from '../config';
import { DicomWebDestination } from './dicomweb';
import { DimseDestination } from './dimse';
import { FolderDestination } from './folder';
import { OrthancDestination } from './orthanc';
import type { Destination } from './types';

export type { Destination, InstanceKey, Proof, Receipt } from './types';

export function openDestination(name: string, cfg: DestinationConfig): Destination {
  if (cfg.kind === 'dicomweb') return new DicomWebDestination(name, cfg);
  if (cfg.kind === 'dimse') return new DimseDestination(name, cfg);
  if (cfg.kind === 'folder') return new FolderDestination(name, cfg);
  return new OrthancDestination(name, cfg);
}
