/**
 * `GET /dictionary/<store>/<version>` on any node of a tier. A Fast Client asks for the
 * dictionary of a ZSTD_WITH_DICT version through its D2 client, so from whichever node it
 * was given, not from one that holds the version (RequestBasedMetadata
 * .fetchCompressionDictionary at linkedin/venice 77ea837f47); if that node answered 404
 * the client could not start. So a node that does not hold the version asks a node that
 * does, over that node's HTTP port, and keeps the answer: a version's dictionary never
 * changes. A forwarded request is answered from the asked node's own data only, so two
 * nodes never ask each other in a loop.
 */
import type { Announcement } from "../discovery/mod.ts";
import { logger } from "../log.ts";
import { parseResourceName } from "../storage/layout.ts";
import { nodeUrl } from "./store_metadata.ts";

const log = logger("tier");

/** The header a forwarded dictionary request carries. */
export const FORWARDED_HEADER = "x-rialto-forwarded";
/** How long one holder is given to answer. */
const FETCH_TIMEOUT_MS = 2000;
/** How many holders are asked before the answer is "none". */
const HOLDERS_ASKED = 3;
/** Dictionaries kept from other nodes (versions are few; the oldest goes first). */
const KEPT = 64;

/** Nodes hold the version, but none of those asked answered. */
export class DictionaryUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DictionaryUnavailable";
  }
}

export type LocalDictionary = (resource: string) => {
  readonly held: boolean;
  readonly dictionary: Uint8Array | null;
};

export class DictionaryFetcher {
  #local: LocalDictionary;
  #holders: (resource: string) => readonly Announcement[];
  #kept = new Map<string, Uint8Array>();

  /** `holders(resource)`: the live, ready nodes that may hold the resource. */
  constructor(local: LocalDictionary, holders: (resource: string) => readonly Announcement[]) {
    this.#local = local;
    this.#holders = holders;
  }

  /**
   * The dictionary of `resource`; null when no node that holds it has one. Throws
   * DictionaryUnavailable when nodes hold it but none of those asked could answer.
   */
  async get(resource: string, forwarded: boolean): Promise<Uint8Array | null> {
    const local = this.#local(resource);
    if (local.held || forwarded) return local.dictionary;
    const kept = this.#kept.get(resource);
    if (kept !== undefined) return kept;
    const name = parseResourceName(resource);
    if (name === null) return null;
    const holders = this.#holders(resource)
      .filter((a) => typeof a.httpPort === "number" && (a.versions[resource]?.length ?? 0) > 0);
    // From a random one on, so that the tier's nodes share the asking.
    const first = Math.floor(Math.random() * holders.length);
    const asked = [...holders.slice(first), ...holders.slice(0, first)].slice(0, HOLDERS_ASKED);
    for (const holder of asked) {
      const url = `${
        nodeUrl("http", holder.host, holder.httpPort!)
      }/dictionary/${name.store}/${name.version}`;
      const found = await this.#ask(holder, url, resource);
      if (found === undefined) continue;
      if (found !== null) this.#keep(resource, found);
      return found;
    }
    if (asked.length === 0) return null;
    throw new DictionaryUnavailable(
      `No node holding ${resource} answered for its dictionary (asked ${asked.length})`,
    );
  }

  /** The holder's answer: bytes, null for its 404, undefined when it could not answer. */
  async #ask(
    holder: Announcement,
    url: string,
    resource: string,
  ): Promise<Uint8Array | null | undefined> {
    try {
      const response = await fetch(url, {
        headers: { [FORWARDED_HEADER]: "1" },
        signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
      });
      const body = new Uint8Array(await response.arrayBuffer());
      if (response.status === 200) return body;
      if (response.status === 404) return null;
      log.warn("Node {node} answered {status} for the dictionary of {resource}", {
        node: holder.serverId,
        status: response.status,
        resource,
      });
    } catch (error) {
      log.warn("Cannot fetch the dictionary of {resource} from {node}: {error}", {
        resource,
        node: holder.serverId,
        error,
      });
    }
    return undefined;
  }

  #keep(resource: string, dictionary: Uint8Array): void {
    if (this.#kept.size >= KEPT) this.#kept.delete(this.#kept.keys().next().value!);
    this.#kept.set(resource, dictionary);
  }
}
