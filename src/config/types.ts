/** The resolved configuration's types: what every other module is handed (frozen). */
import type { ProfileConfig } from './profiles';
import type { FileConfig } from './schema';

export interface OrthancServerConfig {
  readonly url: string;
  readonly username?: string;
  readonly password?: string;
  readonly timeoutMs: number;
  /** Extra trusted CA certificates (PEM) for HTTPS to this Orthanc. */
  readonly ca?: string;
  /** Where a browser reaches this Orthanc (Explorer links); `url` unless configured. */
  readonly explorerUrl: string;
  readonly folderSink?: { readonly dir: string; readonly pattern: string; readonly fileMode: number };
}

/** A research destination: an Orthanc peer, or a DICOMweb server (its own settings). */
export interface DestinationConfig extends OrthancServerConfig {
  readonly kind: 'orthanc' | 'dicomweb' | 'dimse' | 'folder';
  /** DICOMweb: instances per STOW-RS request; DIMSE: instances per association (at most). */
  readonly batch?: number;
  /** DICOMweb: the bearer token's file (absolute), read by the destination. */
  readonly tokenFile?: string;
  /** DICOMweb: what a confirmation proves; DIMSE: storage commitment, a C-FIND at IMAGE level, or none. */
  readonly confirm?: 'md5' | 'presence' | 'commitment' | 'c-find' | 'none';
  /** DIMSE: the peer's address and the AE titles of the association. */
  readonly dimse?: {
    readonly host: string;
    readonly port: number;
    readonly calledAet: string;
    readonly callingAet: string;
    /** Storage commitment: our port for the peer's N-EVENT-REPORT, and how long to wait for it. */
    readonly commitment?: { readonly port: number; readonly reportTimeoutMs: number };
  };
}

export interface RouteConfig {
  readonly name: string;
  readonly match: FileConfig['routes'][number]['match'];
  readonly profile: string;
  readonly destinations: readonly string[];
}

/** API credentials: an operator token for every protected route, an admin token for the sensitive ones. */
export interface ApiCredentials {
  readonly operatorToken?: string;
  readonly adminToken?: string;
}

/** A metadata export column: the DICOM keyword and its tag ("GGGGEEEE"). */
export interface ExportTag {
  readonly keyword: string;
  readonly tag: string;
}

/** The shared PostgreSQL store; absent: the embedded SQLite in dataDir. */
export interface StateConfig {
  readonly url: string;
  readonly password?: string;
  readonly ca?: string;
  /** TLS to the state database: encrypt only (sslmode=require), or verify the server too. */
  readonly tls?: 'encrypt' | 'verify';
  readonly retryForMs: number;
  readonly poolSize: number;
}

export interface ReplicaConfig {
  readonly id: string;
  readonly leaseMs: number;
  readonly heartbeatMs: number;
}

/** The one resolved configuration, validated once at start and frozen. */
export interface ResolvedConfig extends Omit<
  FileConfig,
  | 'source'
  | 'research'
  | 'export'
  | 'destinations'
  | 'profiles'
  | 'routes'
  | 'profile'
  | 'state'
  | 'replica'
  | 'reportsDir'
> {
  /** PostgreSQL shared by replicas, or undefined for the embedded SQLite. */
  readonly state?: StateConfig;
  readonly replica: ReplicaConfig;
  /** Where per-study reports, exports and daily reports go (dataDir unless configured). */
  readonly reportsDir: string;
  /** The main profile's name. */
  readonly profile: string;
  readonly source: OrthancServerConfig;
  readonly research: DestinationConfig;
  /** Every research destination by name, `research` included. */
  readonly destinations: Readonly<Record<string, DestinationConfig>>;
  /** Every profile by name, the main `profile` included. */
  readonly profiles: Readonly<Record<string, ProfileConfig>>;
  /** Routing rules in order; without configured rules, one rule sends everything to `research`. */
  readonly routes: readonly RouteConfig[];
  readonly credentials: ApiCredentials;
  /** The re-identification public key (PEM), when reversible pseudonyms are configured. */
  readonly reidPublicKeyPem?: string;
  readonly export: { readonly metadataTags: readonly ExportTag[] };
  /** The project secret every key is derived from. Never logged, never shown. */
  readonly secret: string;
  /** What an operator should fix but the bridge can run with (weak tokens, readable secret files): logged at start. */
  readonly warnings: readonly string[];
  /** Where the config came from, for `bridge status` and the logs (paths only). */
  readonly sources: readonly string[];
}

export type Env = Readonly<Record<string, string | undefined>>;

export interface LoadOptions {
  readonly env: Env;
  /** `--config` from the command line; wins over BRIDGE_CONFIG. */
  readonly configPath?: string;
  /** Folder holding default.json; the package's own config/ by default. */
  readonly defaultsDir?: string;
  readonly cwd?: string;
}
