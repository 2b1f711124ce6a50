/**
 * The Venice-compatible HTTP port of a standalone tier (`http.port`): what a Fast Client
 * asks a Venice server and router for besides the values, so that it can bootstrap from
 * Rialto nodes alone. Server endpoints answer as Venice's server does
 * (services/venice-server/.../listener/: RouterRequestHttpHandler parses,
 * StorageReadRequestHandler answers, OutboundHttpWrapperHandler sets the headers), router
 * endpoints as Venice's router (services/venice-router/.../MetaDataHandler.java), read at
 * linkedin/venice 77ea837f47:
 *
 * - `GET /health`: 200 text/plain `OK`.
 * - `GET /metadata/<store>`: 200 avro/binary MetadataResponseRecord, X-VENICE-SCHEMA-ID 4.
 * - `GET /dictionary/<store>/<version>`: 200 application/octet-stream, the ZSTD dictionary;
 *   404 with an empty body when this node has none for that version.
 * - `GET /discover_cluster/<store>` (or `?store_name=`): D2ServiceDiscoveryResponse JSON.
 * - `GET /value_schema/<store>/<id>` and `/value_schema/<store>`: SchemaResponse /
 *   MultiSchemaResponse JSON, for the stores and for
 *   venice_system_store_SERVER_METADATA_RESPONSE (the metadata record's own schemas).
 *
 * Reads themselves are served over gRPC only; the other actions a Venice server knows
 * answer 501.
 */
import { logger } from "../log.ts";
import {
  METADATA_RESPONSE_SCHEMA_ID,
  METADATA_RESPONSE_SCHEMAS,
  METADATA_RESPONSE_SYSTEM_STORE,
  storeMetadata,
  type TierState,
} from "./store_metadata.ts";
import type { StoreDescriptor } from "./store_descriptor.ts";
import { DictionaryUnavailable, FORWARDED_HEADER } from "./dictionaries.ts";
import { resourceNameOf } from "../storage/layout.ts";

const log = logger("tier-http");

/** What the HTTP port answers from; the server owns it. */
export interface TierSource {
  /** The Venice cluster name /discover_cluster answers (`discovery.clusterName`). */
  readonly clusterName: string;
  /** `discovery.zookeeper.connect` with the ZooKeeper backend, else null. */
  readonly zkAddress: string | null;
  /** A store's descriptor, undefined when it has none (or a refused one). */
  descriptor(store: string): StoreDescriptor | undefined;
  /** The tier as it stands for `store`. */
  tierState(store: string): TierState;
  /**
   * The ZSTD dictionary of a store version, from this node or (unless `forwarded`, a
   * request another node forwarded) from a node that holds it; null when there is none.
   * Rejects with DictionaryUnavailable when the holders cannot be reached.
   */
  dictionary(resource: string, forwarded: boolean): Promise<Uint8Array | null>;
}

/** QueryAction of a Venice server, in its declaration order (the error texts list them). */
const SERVER_ACTIONS = [
  "storage",
  "health",
  "compute",
  "dictionary",
  "admin",
  "metadata",
  "store_properties",
  "current_version",
  "topic_partition_ingestion_context",
  "host_heartbeat_lag",
  "key_partition_profiler",
] as const;

const ACTIONS_TEXT = `Only able to parse GET or POST requests for actions: ${
  SERVER_ACTIONS.join(", ")
}.`;

const encoder = new TextEncoder();

/** OutboundHttpWrapperHandler's headers on every server answer. */
function serverHeaders(contentType: string, schemaId = -1): Headers {
  return new Headers({
    "content-type": contentType,
    "x-venice-compression-strategy": "0",
    "x-venice-schema-id": String(schemaId),
    "x-venice-rcu": "1",
  });
}

/** An HttpShortcutResponse: status and a text/plain message. */
function text(status: number, message: string, close = false): Response {
  const headers = serverHeaders("text/plain");
  if (close) headers.set("connection", "close");
  return new Response(encoder.encode(message), { status, headers });
}

/** The router's NettyUtils.setupResponseAndFlush: a text/plain body, no Venice headers. */
function routerText(status: number, message: string, close = false): Response {
  const headers = new Headers({ "content-type": "text/plain" });
  if (close) headers.set("connection", "close");
  return new Response(encoder.encode(message), { status, headers });
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json" },
  });
}

/** ControllerResponse's fields, as Jackson writes them (nulls included). */
function controllerResponse(
  cluster: string | null,
  name: string | null,
  error: string | null = null,
  errorType: string | null = null,
) {
  return { cluster, name, error, errorType, exceptionType: errorType };
}

/** Java's Integer.parseInt: an optional sign and decimal digits within int range. */
function parseJavaInt(s: string): number | null {
  if (!/^[+-]?[0-9]+$/.test(s)) return null;
  const n = Number(s);
  return n >= -0x80000000 && n <= 0x7fffffff ? n : null;
}

/** Java's String.split("/"): trailing empty strings removed. */
function splitParts(path: string): string[] {
  const parts = path.split("/");
  while (parts.length > 0 && parts[parts.length - 1] === "") parts.pop();
  return parts;
}

function metadata(source: TierSource, path: string, parts: string[]): Response {
  if (parts.length !== 3) return text(400, `not a valid request for a METADATA action: ${path}`);
  const store = parts[2];
  const failed = (why: string) =>
    text(500, `Failed to populate metadata for store: ${store} due to: ${why}`);
  const descriptor = source.descriptor(store);
  if (descriptor === undefined) return failed(`Store: ${store} does not exist.`);
  const result = storeMetadata(descriptor, source.tierState(store));
  if (!result.ok) return failed(result.reason);
  return new Response(result.body, {
    status: 200,
    headers: serverHeaders("avro/binary", METADATA_RESPONSE_SCHEMA_ID),
  });
}

async function dictionary(
  source: TierSource,
  request: Request,
  path: string,
  parts: string[],
): Promise<Response> {
  if (parts.length !== 4) return text(400, `Not a valid request for a DICTIONARY action: ${path}`);
  const version = parseJavaInt(parts[3]);
  // Venice's NumberFormatException escapes to exceptionCaught: 500 and the channel closed.
  if (version === null) return text(500, `For input string: "${parts[3]}"`, true);
  const resource = resourceNameOf(parts[2], version);
  let found: Uint8Array | null;
  try {
    found = await source.dictionary(resource, request.headers.has(FORWARDED_HEADER));
  } catch (error) {
    if (!(error instanceof DictionaryUnavailable)) throw error;
    return text(500, error.message);
  }
  return new Response(found === null ? new Uint8Array() : new Uint8Array(found), {
    status: found === null ? 404 : 200,
    headers: serverHeaders("application/octet-stream"),
  });
}

/** Stores /discover_cluster and /value_schema know: every described one and the system store. */
function knownStore(source: TierSource, store: string): boolean {
  return store === METADATA_RESPONSE_SYSTEM_STORE || source.descriptor(store) !== undefined;
}

function discoverCluster(source: TierSource, url: URL, segments: string[]): Response {
  const store = segments[2] || url.searchParams.get("store_name") || "";
  if (store === "") {
    return routerText(
      400,
      "Resource name required, valid path should be : /discover_cluster/${storeName} or /discover_cluster?store_name=${storeName}",
    );
  }
  const found = knownStore(source, store);
  return json(found ? 200 : 404, {
    ...(found ? controllerResponse(source.clusterName, store) : controllerResponse(
      null,
      null,
      `Cluster for store: ${store} doesn't exist`,
      "STORE_NOT_FOUND",
    )),
    d2Service: found ? source.clusterName : null,
    serverD2Service: found ? source.clusterName : null,
    zkAddress: found ? source.zkAddress : null,
    kafkaBootstrapServers: null,
  });
}

function valueSchemas(source: TierSource, store: string): ReadonlyMap<number, string> | null {
  if (store === METADATA_RESPONSE_SYSTEM_STORE) return METADATA_RESPONSE_SCHEMAS;
  return source.descriptor(store)?.valueSchemas ?? null;
}

function valueSchema(source: TierSource, segments: string[]): Response {
  const store = segments[2] ?? "";
  if (store === "") {
    return routerText(
      400,
      "Resource name required, valid path should be : /value_schema/${storeName} or /value_schema/${storeName}/${valueSchemaId}",
    );
  }
  const schemas = valueSchemas(source, store);
  // The router's own failures here are exceptions it answers as 500 with the trace.
  if (schemas === null) {
    return routerText(
      500,
      `com.linkedin.venice.exceptions.VeniceNoStoreException: Store: ${store} does not exist.`,
      true,
    );
  }
  if (segments.length < 4) {
    const superset = store === METADATA_RESPONSE_SYSTEM_STORE
      ? -1
      : source.descriptor(store)?.latestSupersetValueSchemaId ?? -1;
    return json(200, {
      ...controllerResponse(source.clusterName, store),
      superSetSchemaId: superset,
      schemas: [...schemas].map(([id, schemaStr]) => ({
        id,
        derivedSchemaId: -1,
        rmdValueSchemaId: -1,
        schemaStr,
      })),
    });
  }
  const id = parseJavaInt(segments[3]);
  if (id === null) {
    return routerText(
      500,
      `java.lang.NumberFormatException: For input string: "${segments[3]}"`,
      true,
    );
  }
  const schemaStr = schemas.get(id);
  if (schemaStr === undefined) {
    // The router prints the id as the path has it, before parsing.
    return routerText(
      404,
      `Value schema doesn't exist for schema id: ${segments[3]} of store: ${store}`,
    );
  }
  return json(200, {
    ...controllerResponse(source.clusterName, store),
    id,
    derivedSchemaId: -1,
    schemaStr,
  });
}

/**
 * One request, answered as Venice's server or router answers it. Paths are as WHATWG URL
 * parsing leaves them (Deno normalizes `.`/`..` segments; Venice's java.net.URI does not).
 */
export function answerTierRequest(
  source: TierSource,
  request: Request,
): Response | Promise<Response> {
  const url = new URL(request.url);
  // RouterRequestHttpHandler splits the raw (undecoded) path with the query appended.
  const target = url.pathname + url.search;
  if (request.method !== "GET" && request.method !== "POST") {
    return text(400, `${ACTIONS_TEXT} Cannot parse request for: ${target}`);
  }
  // The router's endpoints parse the path alone (the query holds parameters there), and
  // match their names exactly (RouterResourceType's map); the server's ignore case.
  const pathParts = splitParts(url.pathname);
  switch (pathParts[1]) {
    case "discover_cluster":
      return discoverCluster(source, url, pathParts);
    case "value_schema":
      return valueSchema(source, pathParts);
  }
  const parts = splitParts(target);
  if (parts.length < 2) return text(400, `${ACTIONS_TEXT} Cannot parse request for: ${target}`);
  const action = parts[1].toLowerCase();
  switch (action) {
    case "health":
      return text(200, "OK");
    case "metadata":
      return metadata(source, url.pathname, parts);
    case "dictionary":
      return dictionary(source, request, url.pathname, parts);
  }
  if ((SERVER_ACTIONS as readonly string[]).includes(action)) {
    return text(
      501,
      action === "storage"
        ? "Rialto serves reads over gRPC only (com.linkedin.venice.protocols.VeniceReadService)"
        : `Rialto does not serve the ${action} action`,
    );
  }
  return text(400, `${ACTIONS_TEXT} Cannot support action: ${parts[1]}`);
}

export interface TierHttpServer {
  readonly port: number;
  close(): Promise<void>;
}

/** Starts the HTTP port; resolves once it listens. */
export function serveTierHttp(
  hostname: string,
  port: number,
  source: TierSource,
): Promise<TierHttpServer> {
  return new Promise((resolve, reject) => {
    try {
      const server = Deno.serve({
        hostname,
        port,
        onListen: (address) => resolve({ port: address.port, close: () => server.shutdown() }),
        onError: (error) => {
          log.error("Tier HTTP request failed: {error}", { error });
          return text(500, "Internal Server Error");
        },
      }, (request) => answerTierRequest(source, request));
    } catch (error) {
      reject(error);
    }
  });
}
