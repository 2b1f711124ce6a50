/**
 * Reading a config file from disk: bytes, their sha256 (which the admin port reports and
 * the admin CLI compares) and the parsed config.
 */
import {
  applyOverrides,
  ConfigError,
  type ConfigOverrides,
  isEmptyConfigText,
  parseConfig,
} from "./schema.ts";
import type { RialtoConfig } from "./schema.ts";

/** A config file as read: what it said and which bytes said it. */
export interface LoadedConfig {
  readonly config: RialtoConfig;
  /** Lower-case hex sha256 of the file bytes (of "" when the file does not exist). */
  readonly sha256: string;
  /** False when the file was missing and the defaults were used. */
  readonly exists: boolean;
}

/** Lower-case hex sha256 of some bytes. */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Reads and parses a config file, then applies the flags. A missing file yields the
 * defaults when `allowMissing` is set; otherwise it is a ConfigError like any other.
 */
export async function loadConfigFile(
  path: string,
  options: { overrides?: ConfigOverrides; allowMissing?: boolean } = {},
): Promise<LoadedConfig> {
  let bytes: Uint8Array;
  let exists = true;
  try {
    bytes = await Deno.readFile(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound) || !options.allowMissing) {
      throw new ConfigError(path, [{
        path: "",
        message: `Cannot read the file: ${errorText(error)}`,
      }]);
    }
    bytes = new Uint8Array();
    exists = false;
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new ConfigError(path, [{ path: "", message: "The file is not valid UTF-8" }]);
  }
  if (exists && isEmptyConfigText(text)) {
    throw new ConfigError(path, [{
      path: "",
      message:
        "The file holds no settings (empty, whitespace or comments only): refused, as it would put every field back to its default",
    }]);
  }
  const parsed = parseConfig(text, path);
  const config = options.overrides ? applyOverrides(parsed, options.overrides) : parsed;
  return { config, sha256: await sha256Hex(bytes), exists };
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
