/**
 * Machine edits of the config file that a human also edits: comments, ordering and
 * layout of everything not touched survive (yaml's Document API), the result is validated
 * against the schema before anything is written, and the write is atomic (a temp file in
 * the same directory renamed over the original, keeping its mode), so the watcher of a
 * running server never reads half a file.
 */
import { isMap, isNode, isPair, isScalar, isSeq, parseDocument, stringify } from "yaml";
import { basename, dirname, join } from "node:path";
import { sha256Hex } from "./load.ts";
import { ConfigError, parseConfig, type RialtoConfig } from "./schema.ts";

/** Written at the top of a config file that `rialto admin` had to create. */
export const NEW_FILE_HEADER = [
  " Rialto configuration. Every field is optional; see config/rialto.example.yaml for all",
  " of them with their defaults. Created by `rialto admin`; edit freely, comments are kept.",
].join("\n");

export interface EditResult {
  /** The file written (symlinks are followed). */
  readonly path: string;
  /** sha256 of the bytes now in the file: what a server reports once it applied them. */
  readonly sha256: string;
  /** The config the file now parses to. */
  readonly config: RialtoConfig;
  /** False when the file already said this; nothing was written then. */
  readonly changed: boolean;
  /** True when the file did not exist and was created. */
  readonly created: boolean;
}

async function targetPath(path: string): Promise<string> {
  try {
    return await Deno.realPath(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return path;
    throw error;
  }
}

/** Writes bytes to path atomically: temp file in the same directory, fsync, rename. */
export async function writeFileAtomic(
  path: string,
  bytes: Uint8Array,
  mode?: number,
): Promise<void> {
  const temp = join(
    dirname(path),
    `.${basename(path)}.${Deno.pid}.${crypto.randomUUID().slice(0, 8)}.tmp`,
  );
  try {
    const file = await Deno.open(temp, { write: true, createNew: true, mode: mode ?? 0o644 });
    try {
      let written = 0;
      while (written < bytes.length) written += await file.write(bytes.subarray(written));
      // open() applies the umask; chmod makes the mode exactly the original's.
      if (mode !== undefined) await Deno.chmod(temp, mode);
      await file.sync();
    } finally {
      file.close();
    }
    await Deno.rename(temp, path);
  } catch (error) {
    await Deno.remove(temp).catch(() => {});
    throw error;
  }
}

/** One change: set the value at a path of keys, creating missing maps on the way. */
export interface ConfigEdit {
  readonly path: readonly string[];
  readonly value: string | number | boolean | null;
}

const PLAIN_KEY = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

function renderKey(key: string): string {
  return PLAIN_KEY.test(key) ? key : JSON.stringify(key);
}

function renderScalar(value: ConfigEdit["value"]): string {
  return stringify(value).trimEnd();
}

function lineStart(text: string, offset: number): number {
  return text.lastIndexOf("\n", offset - 1) + 1;
}

/** Offset just past the end of the line holding `offset` (its newline included). */
function nextLineStart(text: string, offset: number): number {
  const newline = text.indexOf("\n", offset);
  return newline === -1 ? text.length : newline + 1;
}

/** Block-style lines for `keys: value` nested from `indent`, each ending in a newline. */
function renderBlock(keys: readonly string[], value: ConfigEdit["value"], indent: number): string {
  return keys.map((key, i) => {
    const pad = " ".repeat(indent + 2 * i);
    return i === keys.length - 1
      ? `${pad}${renderKey(key)}: ${renderScalar(value)}\n`
      : `${pad}${renderKey(key)}:\n`;
  }).join("");
}

function splice(text: string, from: number, to: number, insert: string): string {
  return text.slice(0, from) + insert + text.slice(to);
}

/**
 * Where a node's own text ends: a block collection's range runs on over the comment lines
 * after it, which belong to whatever follows, so descend to its last item.
 */
function contentEnd(node: unknown): number | undefined {
  if ((isMap(node) || isSeq(node)) && !node.flow && node.items.length > 0) {
    const last = node.items[node.items.length - 1];
    return isPair(last) ? (contentEnd(last.value) ?? contentEnd(last.key)) : contentEnd(last);
  }
  return isNode(node) ? node.range?.[1] : undefined;
}

/** Replaces a value; a comment after it on the same line stays in its column if it can. */
function replaceKeepingCommentColumn(text: string, from: number, to: number, insert: string) {
  const gap = /^ +(?=#)/.exec(text.slice(to))?.[0].length ?? 0;
  if (gap === 0) return splice(text, from, to, insert);
  const newGap = Math.max(1, gap + (to - from) - insert.length);
  return splice(text, from, to + gap, insert + " ".repeat(newGap));
}

/**
 * Sets one value by editing the text itself, so every byte outside the edited span stays
 * as it was (yaml's printer would realign comments and respace flow collections). Falls
 * back to yaml's printer only where the file's shape leaves no clean place to edit (a
 * flow mapping on the way); comments are still kept then.
 */
export function setConfigValue(text: string, edit: ConfigEdit): string {
  const doc = parseDocument(text);
  const { path, value } = edit;
  const node = doc.getIn(path, true);
  if (isScalar(node) && node.range) {
    return replaceKeepingCommentColumn(text, node.range[0], node.range[1], renderScalar(value));
  }
  if (node !== undefined) {
    throw new ConfigError("edit", [{
      path: path.join("."),
      message: "Expected a single value here; edit the file by hand",
    }]);
  }
  // Find the deepest existing ancestor of the missing path.
  let depth = path.length - 1;
  while (depth > 0 && doc.getIn(path.slice(0, depth), true) === undefined) depth--;
  const ancestor = depth === 0 ? doc.contents : doc.getIn(path.slice(0, depth), true);
  const missing = path.slice(depth);

  if (ancestor === null || (isScalar(ancestor) && ancestor.value === null && depth === 0)) {
    // An empty document.
    return text + (text === "" || text.endsWith("\n") ? "" : "\n") + renderBlock(missing, value, 0);
  }
  if (isScalar(ancestor) && ancestor.value === null && ancestor.range) {
    // `stores:` with no value (or `~`, `null`): nest the new lines under its key.
    const parent = doc.getIn(path.slice(0, depth - 1), true);
    const pair = isMap(parent)
      ? parent.items.find((item) => isScalar(item.key) && item.key.value === path[depth - 1])
      : undefined;
    const keyRange = pair && isScalar(pair.key) ? pair.key.range : undefined;
    if (keyRange) {
      const indent = keyRange[0] - lineStart(text, keyRange[0]) + 2;
      const insertAt = nextLineStart(text, keyRange[1]);
      const lineBreak = insertAt === text.length && !text.endsWith("\n") ? "\n" : "";
      const withLines = splice(
        text,
        insertAt,
        insertAt,
        lineBreak + renderBlock(missing, value, indent),
      );
      return splice(withLines, ancestor.range[0], ancestor.range[1], "");
    }
  }
  if (isMap(ancestor) && !ancestor.flow && ancestor.items.length > 0) {
    const first = ancestor.items[0];
    const last = ancestor.items[ancestor.items.length - 1];
    const firstKey = isScalar(first.key) ? first.key.range : undefined;
    const end = contentEnd(last.value) ?? contentEnd(last.key);
    if (firstKey && end !== undefined) {
      const indent = firstKey[0] - lineStart(text, firstKey[0]);
      const insertAt = nextLineStart(text, end);
      const lineBreak = insertAt === text.length && !text.endsWith("\n") ? "\n" : "";
      return splice(text, insertAt, insertAt, lineBreak + renderBlock(missing, value, indent));
    }
  }
  // No clean place to splice: let yaml print the document (comments kept, spacing may change).
  doc.setIn(path, value);
  return doc.toString({ lineWidth: 0 });
}

/**
 * Applies the edits to the file's text and writes it if the result is a valid config.
 * A missing file is created, starting with a header comment. Throws ConfigError (nothing written) if the file or the result is invalid.
 */
export async function editConfigFile(
  path: string,
  edits: readonly ConfigEdit[],
): Promise<EditResult> {
  const target = await targetPath(path);
  let text: string | null = null;
  let mode: number | undefined;
  try {
    text = await Deno.readTextFile(target);
    mode = (await Deno.stat(target)).mode ?? undefined;
    if (mode !== undefined) mode &= 0o7777;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  if (text !== null) parseConfig(text, target); // refuse to build on a broken file

  let next = text ?? NEW_FILE_HEADER.split("\n").map((line) => `#${line}\n`).join("") + "\n";
  for (const edit of edits) next = setConfigValue(next, edit);
  const config = parseConfig(next, target);
  const bytes = new TextEncoder().encode(next);
  const sha256 = await sha256Hex(bytes);
  if (text === next) {
    return { path: target, sha256, config, changed: false, created: false };
  }
  await writeFileAtomic(target, bytes, mode);
  return { path: target, sha256, config, changed: true, created: text === null };
}

/** Sets `stores.<name>.enabled`, adding the entry if the store is not listed yet. */
export function setStoreEnabled(
  path: string,
  store: string,
  enabled: boolean,
): Promise<EditResult> {
  return editConfigFile(path, [{ path: ["stores", store, "enabled"], value: enabled }]);
}

/** Sets `discovery.mode`. */
export function setDiscoveryMode(path: string, mode: "cluster" | "store"): Promise<EditResult> {
  return editConfigFile(path, [{ path: ["discovery", "mode"], value: mode }]);
}
