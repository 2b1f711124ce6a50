/**
 * Rialto's configuration: one zod schema, parsed from YAML into a frozen object.
 *
 * Precedence: command-line flags override the file, the file overrides the defaults
 * written here. Every field is optional; unknown fields are rejected with their path
 * so that a typo never silently falls back to a default.
 *
 * Owned by the config module; the server, the watcher and the admin CLI read it.
 */
import { z } from "zod";
import { parseDocument } from "yaml";

/** Venice store names; also used verbatim as discovery resource names and paths. */
const STORE_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;
/** A Venice store-version directory name: `<store>_v<N>`. */
const STORE_VERSION = /^[A-Za-z0-9][A-Za-z0-9_-]*_v[0-9]+$/;
/** A ZooKeeper path below the root: absolute, no trailing slash, no empty segments. */
const ZK_ROOT_PATH = /^(\/[^/\s]+)+$/;

/** A section left empty in YAML (`stores:`) is null; it means "all defaults", like absent. */
function section<T extends z.ZodType>(schema: T) {
  return z.preprocess((value) => value ?? undefined, schema);
}

const port = z.number().int().min(0).max(65535);
const positiveInt = z.number().int().positive();
const nullablePath = z.string().min(1).nullable();

/** Principals allowed per gRPC method, used by the static authorizer. */
const aclSchema = z.strictObject({
  /** Principals allowed to call `get` on this store. Empty: nobody. */
  get: z.array(z.string().min(1)).default([]),
  /** Principals allowed to call `batchGet` on this store. Empty: nobody. */
  batchGet: z.array(z.string().min(1)).default([]),
});

const storeSchema = z.strictObject({
  /** A store under dataDir is served unless disabled here. */
  enabled: z.boolean().default(true),
  /** Read quota for this store in read capacity units per second; null: no store quota. */
  readQuotaRcuPerSecond: z.number().positive().nullable().default(null),
  /** Principals allowed per method (static authorizer only). */
  acl: section(aclSchema.prefault({})),
  /** This store's bound on a hybrid partition's staleness; absent: storage.maxStalenessMs. */
  maxStalenessMs: positiveInt.nullable().optional(),
});

/** Overrides of what a store version's metadata partition says about it. */
const versionOverrideSchema = z.strictObject({
  /** Venice CompressionStrategy of the version's values. */
  compressionStrategy: z.enum(["NO_OP", "GZIP", "ZSTD", "ZSTD_WITH_DICT"]).optional(),
  /** Whether large values are split into chunks (Venice chunking). */
  chunked: z.boolean().optional(),
});

const tlsSchema = z.strictObject({
  /** When true, the gRPC port speaks mutual TLS: client certificates are required. Restart-only. */
  enabled: z.boolean().default(false),
  /** PEM server certificate (chain). Required when enabled. */
  certFile: nullablePath.default(null),
  /** PEM private key of certFile. Required when enabled. */
  keyFile: nullablePath.default(null),
  /** PEM CA bundle that signs client certificates. Required when enabled. */
  caFile: nullablePath.default(null),
  /** How a client certificate names its principal: its subject CN or its SAN URI. Restart-only. */
  principal: z.enum(["subject-cn", "san-uri"]).default("subject-cn"),
});

const grpcSchema = z.strictObject({
  /** Address the gRPC port binds. Restart-only. */
  host: z.string().min(1).default("0.0.0.0"),
  /** gRPC port (VeniceReadService). 0 picks a free port. Restart-only. */
  port: port.default(7070),
  /**
   * gRPC server implementation: native (Rialto's HTTP/2 server, the default; `io` says how
   * it waits for sockets) or grpc-js (the reference and fallback). Restart-only.
   */
  transport: z.enum(["grpc-js", "native"]).default("native"),
  /**
   * How the native transport waits for plaintext sockets: "poller" (the default) on the
   * serving thread's own epoll, calling recv and send directly; "deno" on Deno.listen's
   * conn.read and conn.write. TLS always goes through Deno or node:tls. Restart-only.
   */
  io: z.enum(["poller", "deno"]).default("poller"),
  /**
   * Event loops (worker isolates) serving the native transport, all accepting on the
   * gRPC port (SO_REUSEPORT); null: one per CPU (navigator.hardwareConcurrency). 1 serves
   * from the main isolate alone. grpc-js always serves from one isolate. Restart-only.
   */
  workers: z.number().int().min(1).max(256).nullable().default(null),
  /** Largest inbound message in bytes (gRPC's default is 4 MiB). */
  maxMessageBytes: positiveInt.default(4194304),
  /**
   * Largest number of keys in one batchGet; null: no limit, as a Venice server has none
   * (the Fast Client enforces the store's batchGetLimit, 500 by default). An opt-in
   * protection for a server that also takes other clients.
   */
  maxKeysPerBatch: positiveInt.nullable().default(null),
  /**
   * Batch gets of at least this many keys read RocksDB on Deno's blocking thread pool,
   * so one busy connection's big batches do not hold its event loop; null: never.
   */
  asyncBatchMinKeys: positiveInt.nullable().default(null),
  /** Mutual TLS on the gRPC port. */
  tls: section(tlsSchema.prefault({})),
});

const adminSchema = z.strictObject({
  /** Address the admin HTTP port binds (/health /status /discovery /metrics). Restart-only. */
  host: z.string().min(1).default("127.0.0.1"),
  /** Admin HTTP port. 0 picks a free port. Restart-only. */
  port: port.default(7071),
});

const httpSchema = z.strictObject({
  /** Address the Venice-compatible HTTP port binds; null: grpc.host's. Restart-only. */
  host: z.string().min(1).nullable().default(null),
  /**
   * The Venice-compatible HTTP port a Fast Client bootstraps from (/metadata,
   * /dictionary, /health, /discover_cluster, /value_schema); null: not served. 0 picks a
   * free port. Restart-only.
   */
  port: port.nullable().default(null),
  /** How often this node reads the tier's announcements and current versions, in ms. Restart-only. */
  tierRefreshIntervalMs: positiveInt.default(1000),
});

const storageSchema = z.strictObject({
  /** Explicit librocksdb path; the ROCKSDB_LIB environment variable wins over it. */
  rocksdbLibrary: nullablePath.default(null),
  /** RocksDB block cache size in bytes, shared by every open partition. */
  blockCacheBytes: z.number().int().nonnegative().default(268435456),
  /** read-only: open a snapshot; secondary: follow a live Venice server's writes. */
  openMode: z.enum(["read-only", "secondary"]).default("read-only"),
  /** Where secondary instances keep their own files (secondary mode only). */
  secondaryDir: nullablePath.default(null),
  /**
   * How often secondary instances catch up with the primary and every partition's
   * serving state (end of push, staleness) is decided anew, in milliseconds.
   */
  catchUpIntervalMs: positiveInt.default(1000),
  /**
   * The most a hybrid partition's data may lag (now - its last checkpoint), in ms: past
   * it the partition is withdrawn and its reads answer 503. null: hybrid versions are not
   * served at all. Batch-only versions are served once their push has ended.
   */
  maxStalenessMs: positiveInt.nullable().default(null),
  /** Per store-version overrides, keyed `<store>_v<N>`. */
  versions: section(
    z.record(
      z.string().regex(STORE_VERSION, 'Expected a store-version name such as "people_v3"'),
      section(versionOverrideSchema.prefault({})),
    ).default({}),
  ),
});

const quotaSchema = z.strictObject({
  /** Whether read quota is enforced at all. */
  enabled: z.boolean().default(true),
  /** Read capacity units per second this node serves across all stores. */
  nodeCapacityRcuPerSecond: z.number().positive().default(100000),
  /** Token bucket refill interval in milliseconds (Venice's enforcement interval). */
  enforcementIntervalMs: positiveInt.default(10000),
  /** Bucket capacity as a multiple of one interval's refill (burst allowance). */
  bucketMultiplier: z.number().positive().default(5),
});

const authHttpSchema = z.strictObject({
  /** Authorizer endpoint: GET <url>?principal=..&store=..&method=.. returns {"allow": bool}. */
  url: z.url().nullable().default(null),
  /** How often cached decisions are refreshed, in milliseconds. */
  refreshIntervalMs: positiveInt.default(30000),
  /** Timeout of one authorizer request, in milliseconds. */
  timeoutMs: positiveInt.default(500),
  /** What to decide when the authorizer cannot be reached. */
  whenUnreachable: z.enum(["keep-last", "deny", "allow"]).default("keep-last"),
});

/** Restart-only, the whole section: a reload must never loosen who may read. */
const authSchema = z.strictObject({
  /** none: allow all; static: stores.<name>.acl; http: ask auth.http.url. */
  authorizer: z.enum(["none", "static", "http"]).default("none"),
  /** Settings of the http authorizer. */
  http: section(authHttpSchema.prefault({})),
});

const discoverySchema = z.strictObject({
  /** cluster: one announcement named clusterName; store: one per enabled store. */
  mode: z.enum(["cluster", "store"]).default("cluster"),
  /** Resource name announced in cluster mode. */
  clusterName: z.string().regex(STORE_NAME, "Expected letters, digits, '_' or '-'").default(
    "rialto",
  ),
  /** Where announcements go: files on this machine, or ZooKeeper ephemeral znodes. */
  backend: z.enum(["embedded", "zookeeper"]).default("embedded"),
  /** Host name clients should dial; null: this machine's hostname. */
  advertiseHost: z.string().min(1).nullable().default(null),
  embedded: section(
    z.strictObject({
      /** Directory holding announcement files; null: <dataDir>/discovery. */
      dir: nullablePath.default(null),
    }).prefault({}),
  ),
  zookeeper: section(
    z.strictObject({
      /** ZooKeeper connect string: host:port[,host:port...]. */
      connect: z.string().regex(
        /^[^,\s/]+:[0-9]+(,[^,\s/]+:[0-9]+)*$/,
        "Expected host:port[,host:port...]",
      ).default("127.0.0.1:2181"),
      /** Parent znode of all announcements: <rootPath>/<resource>/<serverId>. */
      rootPath: z.string().regex(ZK_ROOT_PATH, 'Expected an absolute path such as "/rialto"')
        .default("/rialto"),
      /** Requested ZooKeeper session timeout in milliseconds (the server may clamp it). */
      sessionTimeoutMs: positiveInt.default(10000),
    }).prefault({}),
  ),
});

const loggingSchema = z.strictObject({
  /** Lowest LogTape level written. */
  level: z.enum(["trace", "debug", "info", "warning", "error", "fatal"]).default("info"),
});

/** The whole file. */
export const configSchema = z.strictObject({
  /** Venice data.base.path: stores are read from <dataDir>/rocksdb/<store>_v<N>/<store>_v<N>_<p>. */
  dataDir: z.string().min(1).default("./data"),
  grpc: section(grpcSchema.prefault({})),
  admin: section(adminSchema.prefault({})),
  /** The Venice-compatible HTTP port of a standalone tier. */
  http: section(httpSchema.prefault({})),
  storage: section(storageSchema.prefault({})),
  /** Per-store settings; a store under dataDir not listed here is served and enabled. */
  stores: section(
    z.record(
      z.string().regex(STORE_NAME, "Expected a store name of letters, digits, '_' or '-'"),
      section(storeSchema.prefault({})),
    ).default({}),
  ),
  quota: section(quotaSchema.prefault({})),
  auth: section(authSchema.prefault({})),
  discovery: section(discoverySchema.prefault({})),
  logging: section(loggingSchema.prefault({})),
}).superRefine((config, ctx) => {
  const tls = config.grpc.tls;
  if (tls.enabled) {
    for (const field of ["certFile", "keyFile", "caFile"] as const) {
      if (tls[field] === null) {
        ctx.addIssue({
          code: "custom",
          path: ["grpc", "tls", field],
          message: "Required when grpc.tls.enabled is true",
        });
      }
    }
  }
  if (config.auth.authorizer === "http" && config.auth.http.url === null) {
    ctx.addIssue({
      code: "custom",
      path: ["auth", "http", "url"],
      message: 'Required when auth.authorizer is "http"',
    });
  }
  // The HTTP port has no TLS and no authorizer: a ZSTD dictionary is made of samples of
  // the data, so it must not be open where the gRPC port is closed.
  if (config.http.port !== null && (tls.enabled || config.auth.authorizer !== "none")) {
    ctx.addIssue({
      code: "custom",
      path: ["http", "port"],
      message:
        "The Venice-compatible HTTP port is plaintext without access control: it cannot be served with grpc.tls.enabled or an authorizer (set http.port: null)",
    });
  }
  if (config.storage.openMode === "secondary" && config.storage.secondaryDir === null) {
    ctx.addIssue({
      code: "custom",
      path: ["storage", "secondaryDir"],
      message: 'Required when storage.openMode is "secondary"',
    });
  }
});

type DeepReadonly<T> = T extends (infer E)[] ? readonly DeepReadonly<E>[]
  : T extends object ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
  : T;

/** A parsed, validated, deeply frozen configuration. */
export type RialtoConfig = DeepReadonly<z.output<typeof configSchema>>;

/** One field at fault: its dotted path ("" for the whole file) and why. */
export interface ConfigIssue {
  readonly path: string;
  readonly message: string;
  /** 1-based position in the file, for YAML syntax errors. */
  readonly line?: number;
  readonly column?: number;
}

/** A config that could not be read, parsed or validated. Lists every field at fault. */
export class ConfigError extends Error {
  readonly sourceName: string;
  readonly issues: readonly ConfigIssue[];
  constructor(sourceName: string, issues: readonly ConfigIssue[]) {
    super(
      `Invalid config "${sourceName}": ` +
        issues.map((issue) => {
          const where = issue.line === undefined
            ? (issue.path === "" ? "" : `${issue.path}: `)
            : `line ${issue.line}, column ${issue.column}: `;
          return where + issue.message;
        }).join("; "),
    );
    this.name = "ConfigError";
    this.sourceName = sourceName;
    this.issues = issues;
  }
}

/** Fields a flag may override (flags win over the file). */
export interface ConfigOverrides {
  readonly dataDir?: string;
  readonly grpcPort?: number;
  readonly adminPort?: number;
  readonly httpPort?: number;
  readonly transport?: "grpc-js" | "native";
  readonly workers?: number;
}

/** Freezes a value and everything it holds. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.map(String).join(".");
}

/** Validates a plain object (already parsed from YAML or built in code). */
export function validateConfig(input: unknown, sourceName: string): RialtoConfig {
  const result = configSchema.safeParse(input ?? {});
  if (!result.success) {
    throw new ConfigError(
      sourceName,
      result.error.issues.flatMap((issue): ConfigIssue[] => {
        // Unknown keys come as one issue on the parent; name each key by its own path.
        if (issue.code === "unrecognized_keys") {
          return issue.keys.map((key) => ({
            path: formatPath([...issue.path, key]),
            message: "Unknown field",
          }));
        }
        return [{ path: formatPath(issue.path), message: issue.message }];
      }),
    );
  }
  return deepFreeze(result.data) as RialtoConfig;
}

/**
 * Parses YAML text into a frozen config. Throws ConfigError naming every field at fault,
 * or the line and column of a YAML syntax error. An empty file means all defaults.
 */
/**
 * True for a document with no settings at all: empty, whitespace, comments or a bare
 * `---`. A file like that is what an editor or a config push leaves for a moment; taken
 * as a config it would put every field back to its default.
 */
export function isEmptyConfigText(text: string): boolean {
  const doc = parseDocument(text);
  return doc.errors.length === 0 && (doc.contents === null || doc.toJS() == null);
}

export function parseConfig(text: string, sourceName: string): RialtoConfig {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      sourceName,
      doc.errors.map((error) => ({
        path: "",
        message: error.message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, ""),
        line: error.linePos?.[0].line,
        column: error.linePos?.[0].col,
      })),
    );
  }
  const value: unknown = doc.toJS({ maxAliasCount: 100 });
  if (
    value !== null && value !== undefined && (typeof value !== "object" || Array.isArray(value))
  ) {
    throw new ConfigError(sourceName, [{
      path: "",
      message: "Expected a mapping at the top level",
    }]);
  }
  return validateConfig(value, sourceName);
}

/** The configuration used when no file says otherwise. */
export function defaultConfig(): RialtoConfig {
  return validateConfig({}, "defaults");
}

/** Returns a new frozen config with the flags applied; throws ConfigError if one is invalid. */
export function applyOverrides(config: RialtoConfig, overrides: ConfigOverrides): RialtoConfig {
  const copy = structuredClone(config) as {
    dataDir: string;
    grpc: { port: number; transport: string; workers: number | null };
    admin: { port: number };
    http: { port: number | null };
  };
  if (overrides.dataDir !== undefined) copy.dataDir = overrides.dataDir;
  if (overrides.grpcPort !== undefined) copy.grpc.port = overrides.grpcPort;
  if (overrides.adminPort !== undefined) copy.admin.port = overrides.adminPort;
  if (overrides.httpPort !== undefined) copy.http.port = overrides.httpPort;
  if (overrides.transport !== undefined) copy.grpc.transport = overrides.transport;
  if (overrides.workers !== undefined) copy.grpc.workers = overrides.workers;
  return validateConfig(copy, "command-line flags");
}

/** Fields that only take effect when the server restarts. */
export const RESTART_ONLY_FIELDS: readonly string[] = [
  "grpc.host",
  "grpc.port",
  "grpc.transport",
  "grpc.io",
  "grpc.workers",
  "grpc.tls.enabled",
  // Who may read is decided by these: a reload must never open the door (an authorizer
  // switched to none, an authority pointed elsewhere, principals named differently), so
  // they change only with a restart. ACL entries and enablement stay live.
  "grpc.tls.principal",
  "auth",
  "admin.host",
  "admin.port",
  "http.host",
  "http.port",
  "http.tierRefreshIntervalMs",
];
