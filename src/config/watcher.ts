/**
 * Hot reload of the config file.
 *
 * The watcher owns "the config currently applied". It notices changes through
 * Deno.watchFs on the file's directory (editors and `rialto admin` replace the file by
 * rename, which a watch on the file itself would lose) and, as a backstop, a look each
 * second at the file's stamp, on the loop that serves reads: through `FileChanges`, one
 * read(2) while nothing moved in the folders its path resolves through. A candidate is
 * parsed, given the flags, checked by the caller's validator and only then published;
 * anything that fails keeps the old config and is recorded in `lastReload` for the admin
 * port. Fields that cannot change live keep their running value and are reported as
 * requiring a restart.
 */
import { getLogger } from "@logtape/logtape";
import { basename, dirname, resolve } from "node:path";
import { errorText, loadConfigFile, sha256Hex } from "./load.ts";
import {
  type ConfigOverrides,
  deepFreeze,
  RESTART_ONLY_FIELDS,
  type RialtoConfig,
} from "./schema.ts";
import { FileChanges } from "../file_changes.ts";
import { loopTasks } from "../metrics/loop_tasks.ts";

const logger = getLogger(["rialto", "config"]);

/** The outcome of the latest reload attempt, as the admin port reports it. */
export interface LastReload {
  /** ISO-8601 time of the attempt. */
  readonly at: string;
  readonly ok: boolean;
  /** Why the file was not applied, naming the field at fault where there is one. */
  readonly error?: string;
  /** Generation in force after the attempt (unchanged when it failed). */
  readonly generation: number;
  /** sha256 of the bytes the attempt read ("" when the file was missing). */
  readonly sha256: string;
  /** Fields changed in the file that keep their running value until a restart. */
  readonly restartRequired?: readonly string[];
}

/** What a reload changed, so that each module can react to its own section. */
export interface ConfigChange {
  /** Top-level sections with any change: "stores", "quota", "auth", "discovery"... */
  readonly sections: readonly string[];
  /** Dotted paths of every changed leaf, e.g. "stores.people.enabled". */
  readonly paths: readonly string[];
  /** Names of stores whose entry under `stores:` was added, removed or changed. */
  readonly stores: readonly string[];
  /** Restart-only fields whose value in the file differs from the running one. */
  readonly restartRequired: readonly string[];
}

/** Throws (ideally a ConfigError naming the field) to reject a candidate config. */
export type ConfigValidator = (candidate: RialtoConfig) => void | Promise<void>;

/** Called with each newly applied config, in order; errors are logged, not propagated. */
export type ConfigListener = (config: RialtoConfig, change: ConfigChange) => void | Promise<void>;

export interface ConfigWatcherOptions {
  /** The YAML file to watch. */
  readonly path: string;
  /** Command-line flags, applied over every version of the file. */
  readonly overrides?: ConfigOverrides;
  /** Extra checks a candidate must pass (e.g. every store in `stores:` exists). */
  readonly validate?: ConfigValidator;
  /** Quiet time after a file event before re-reading, in milliseconds. Default 100. */
  readonly debounceMs?: number;
  /** Interval of the stat poll backstop, in milliseconds. Default 1000. */
  readonly pollIntervalMs?: number;
  /** Use Deno.watchFs (default true); tests turn it off to prove the poll alone works. */
  readonly fileEvents?: boolean;
  /** Let the poll stat the file only when its folders changed (`FileChanges`; default true). */
  readonly folderWatch?: boolean;
  /** Start from the defaults when the file does not exist (it may appear later). */
  readonly allowMissing?: boolean;
}

/** What the admin port shows under `config` in GET /status. */
export interface ConfigStatus {
  readonly path: string;
  readonly generation: number;
  readonly sha256: string;
  readonly lastReload: LastReload | null;
  readonly pendingRestart: readonly string[];
}

function leafPaths(a: unknown, b: unknown, prefix: string, out: string[]): void {
  const isMap = (v: unknown) => v !== null && typeof v === "object" && !Array.isArray(v);
  if (isMap(a) && isMap(b)) {
    const ra = a as Record<string, unknown>;
    const rb = b as Record<string, unknown>;
    for (const key of new Set([...Object.keys(ra), ...Object.keys(rb)])) {
      leafPaths(ra[key], rb[key], prefix === "" ? key : `${prefix}.${key}`, out);
    }
  } else if (JSON.stringify(a) !== JSON.stringify(b)) {
    out.push(prefix);
  }
}

function isUnder(path: string, field: string): boolean {
  return path === field || path.startsWith(field + ".");
}

/** Names what differs between two configs. */
export function diffConfig(previous: RialtoConfig, next: RialtoConfig): ConfigChange {
  const paths: string[] = [];
  leafPaths(previous, next, "", paths);
  const sections = [...new Set(paths.map((p) => p.split(".")[0]))];
  const stores = [
    ...new Set(paths.filter((p) => p.startsWith("stores.")).map((p) => p.split(".")[1])),
  ];
  const restartRequired = RESTART_ONLY_FIELDS.filter((field) =>
    paths.some((p) => isUnder(p, field))
  );
  return { sections, paths, stores, restartRequired };
}

/** The candidate with every restart-only field put back to its running value. */
function keepRestartOnlyFields(running: RialtoConfig, candidate: RialtoConfig): RialtoConfig {
  const copy = structuredClone(candidate) as unknown as Record<string, Record<string, unknown>>;
  for (const field of RESTART_ONLY_FIELDS) {
    const keys = field.split(".");
    let from: unknown = running;
    let to: Record<string, unknown> = copy;
    for (const key of keys.slice(0, -1)) {
      from = (from as Record<string, unknown>)[key];
      to = to[key] as Record<string, unknown>;
    }
    const last = keys[keys.length - 1];
    to[last] = (from as Record<string, unknown>)[last];
  }
  // Not re-validated on purpose: the mix of running and new values is what is in force.
  return deepFreeze(copy) as unknown as RialtoConfig;
}

/** Watches a config file and publishes every valid change. Create with `ConfigWatcher.open`. */
export class ConfigWatcher {
  readonly path: string;
  #options: ConfigWatcherOptions;
  #config: RialtoConfig;
  #sha256: string;
  #generation = 1;
  #lastReload: LastReload | null = null;
  #pendingRestart: readonly string[] = [];
  #rejectedSha256: string | null = null;
  #listeners = new Set<ConfigListener>();
  #chain: Promise<unknown> = Promise.resolve();
  #fsWatcher: Deno.FsWatcher | null = null;
  #watchLoop: Promise<void> = Promise.resolve();
  #debounceTimer: ReturnType<typeof setTimeout> | undefined;
  #pollTimer: ReturnType<typeof setInterval> | undefined;
  #changes: FileChanges | null = null;
  #closed = false;

  private constructor(options: ConfigWatcherOptions, config: RialtoConfig, sha256: string) {
    this.path = resolve(options.path);
    this.#options = options;
    this.#config = config;
    this.#sha256 = sha256;
  }

  /**
   * Loads and validates the file (throwing ConfigError or the validator's error: a server
   * must not start on a bad config), then starts watching it.
   */
  static async open(options: ConfigWatcherOptions): Promise<ConfigWatcher> {
    const loaded = await loadConfigFile(options.path, {
      overrides: options.overrides,
      allowMissing: options.allowMissing,
    });
    await options.validate?.(loaded.config);
    const watcher = new ConfigWatcher(options, loaded.config, loaded.sha256);
    watcher.#lastReload = {
      at: new Date().toISOString(),
      ok: true,
      generation: 1,
      sha256: loaded.sha256,
    };
    watcher.#start();
    return watcher;
  }

  /** The config in force. */
  get config(): RialtoConfig {
    return this.#config;
  }

  /** Starts at 1 and grows by one with every applied reload. */
  get generation(): number {
    return this.#generation;
  }

  /** sha256 of the file bytes last applied. */
  get sha256(): string {
    return this.#sha256;
  }

  get lastReload(): LastReload | null {
    return this.#lastReload;
  }

  /** What GET /status reports under `config`. */
  status(): ConfigStatus {
    return {
      path: this.path,
      generation: this.#generation,
      sha256: this.#sha256,
      lastReload: this.#lastReload,
      pendingRestart: this.#pendingRestart,
    };
  }

  /** Registers a listener for applied configs; returns its unsubscribe function. */
  subscribe(listener: ConfigListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** How many times the poll has stat'ed the file (not at all while its folders are still). */
  get polledStats(): number {
    return this.#changes?.looksThatStat ?? 0;
  }

  /** Re-reads the file now (reloads never overlap). Resolves to the attempt's record. */
  reload(): Promise<LastReload | null> {
    const next = this.#chain.then(() => this.#reloadOnce());
    this.#chain = next.catch(() => {});
    return next;
  }

  /** Stops watching. Safe to call twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#debounceTimer);
    clearInterval(this.#pollTimer);
    this.#changes?.close();
    try {
      this.#fsWatcher?.close();
    } catch {
      // Already closed.
    }
    await this.#watchLoop;
    await this.#chain;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #start(): void {
    const changes = new FileChanges([this.path], { folderWatch: this.#options.folderWatch });
    this.#changes = changes;
    const dir = dirname(this.path);
    const name = basename(this.path);
    try {
      if (this.#options.fileEvents === false) throw new Error("file events turned off");
      const fsWatcher = Deno.watchFs(dir, { recursive: false });
      this.#fsWatcher = fsWatcher;
      this.#watchLoop = (async () => {
        try {
          for await (const event of fsWatcher) {
            if (event.paths.some((p) => basename(p) === name && dirname(p) === dir)) {
              this.#schedule();
            }
          }
        } catch (error) {
          if (!this.#closed) logger.warn("Watching {dir} stopped: {error}", { dir, error });
        }
      })();
    } catch (error) {
      logger.warn("Cannot watch {dir}, relying on polling: {error}", { dir, error });
    }
    this.#pollTimer = setInterval(
      loopTasks.timed("config-watch", () => {
        if (!changes.differs()) return;
        changes.accept(changes.looked);
        this.#schedule();
      }),
      this.#options.pollIntervalMs ?? 1000,
    );
  }

  #schedule(): void {
    if (this.#closed) return;
    clearTimeout(this.#debounceTimer);
    this.#debounceTimer = setTimeout(() => {
      this.#debounceTimer = undefined;
      if (!this.#closed) this.reload();
    }, this.#options.debounceMs ?? 100);
  }

  /** `lastReload` for the file in force: the generation and restart-only fields pending. */
  #recordApplied(sha256: string): void {
    this.#lastReload = {
      at: new Date().toISOString(),
      ok: true,
      generation: this.#generation,
      sha256,
      ...(this.#pendingRestart.length > 0 ? { restartRequired: this.#pendingRestart } : {}),
    };
  }

  #fail(sha256: string, error: unknown): LastReload {
    const message = errorText(error);
    this.#rejectedSha256 = sha256;
    this.#lastReload = {
      at: new Date().toISOString(),
      ok: false,
      error: message,
      generation: this.#generation,
      sha256,
    };
    logger.error("Config {path} not applied, keeping generation {generation}: {error}", {
      path: this.path,
      generation: this.#generation,
      error: message,
    });
    return this.#lastReload;
  }

  async #reloadOnce(): Promise<LastReload | null> {
    if (this.#closed) return this.#lastReload;
    this.#changes?.accept(this.#changes.stamp());
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(this.path);
    } catch (error) {
      if (this.#rejectedSha256 === "") return this.#lastReload;
      return this.#fail("", `Cannot read "${this.path}": ${errorText(error)}`);
    }
    const sha256 = await sha256Hex(bytes);
    if (sha256 === this.#sha256) {
      // The applied bytes again: a touch, a second event for one write, or the file put
      // back after a refused edit, which /status must then show as applied.
      if (this.#lastReload?.ok === false) {
        this.#rejectedSha256 = null;
        this.#recordApplied(sha256);
        logger.info("Config {path} is back to the applied generation {generation}", {
          path: this.path,
          generation: this.#generation,
        });
      }
      return this.#lastReload;
    }
    if (sha256 === this.#rejectedSha256) return this.#lastReload;

    let candidate: RialtoConfig;
    try {
      candidate = (await loadConfigFile(this.path, { overrides: this.#options.overrides }))
        .config;
    } catch (error) {
      return this.#fail(sha256, error);
    }
    const restartRequired = diffConfig(this.#config, candidate).restartRequired;
    const effective = restartRequired.length > 0
      ? keepRestartOnlyFields(this.#config, candidate)
      : candidate;
    try {
      await this.#options.validate?.(effective);
    } catch (error) {
      return this.#fail(sha256, error);
    }

    const previous = this.#config;
    const change = { ...diffConfig(previous, effective), restartRequired };
    this.#config = effective;
    this.#sha256 = sha256;
    this.#rejectedSha256 = null;
    this.#generation += 1;
    this.#pendingRestart = restartRequired;
    this.#recordApplied(sha256);
    logger.info("Config {path} applied as generation {generation}; changed: {sections}", {
      path: this.path,
      generation: this.#generation,
      sections: change.sections.join(", ") || "nothing",
    });
    if (restartRequired.length > 0) {
      logger.warn("Config fields {fields} changed but require a restart to take effect", {
        fields: restartRequired.join(", "),
      });
    }
    for (const listener of [...this.#listeners]) {
      try {
        await listener(effective, change);
      } catch (error) {
        logger.error("A config listener failed on generation {generation}: {error}", {
          generation: this.#generation,
          error,
        });
      }
    }
    return this.#lastReload;
  }
}
