/** Opens the destination a config entry names, by its kind. */
import type { DestinationConfig } from '../config';
import { DicomWebDestination } from './dicomweb';
import { OrthancDestination } from './orthanc';
import type { Destination } from './types';

export type { Destination, InstanceKey, Proof, Receipt } from './types';

export function openDestination(name: string, cfg: DestinationConfig): Destination {
  return cfg.kind === 'dicomweb' ? new DicomWebDestination(name, cfg) : new OrthancDestination(name, cfg);
}
