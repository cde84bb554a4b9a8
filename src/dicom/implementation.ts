/** How the bridge names itself in the file meta information of what it writes (PS3.7 D.3.3.2). */

/** 2.25 + the first 128 bits of SHA-256("orthanc-research-bridge"), as a decimal integer. */
export const IMPLEMENTATION_CLASS_UID = '2.25.125290526770298645644517463831636964928';
export const IMPLEMENTATION_VERSION_NAME = 'ORB_0_1';
