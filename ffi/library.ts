/**
 * Finds and opens a native library. One place decides where to look, in this order:
 * the environment override, a path from config, then the platform's usual file names.
 * When nothing opens, the error lists every path tried and how to override.
 */

/** What a native library is called on each platform Rialto builds for. */
export interface LibraryNames {
  /** Human name used in errors, e.g. "RocksDB". */
  readonly label: string;
  /** Environment variable holding an explicit path, e.g. "ROCKSDB_LIB". */
  readonly envVar: string;
  /** File names or absolute paths to try per `Deno.build.os`. */
  readonly candidates: Partial<Record<typeof Deno.build.os, readonly string[]>>;
  /** The package that provides it, named in the error. */
  readonly installHint: string;
}

/** Raised when no candidate opens; `tried` holds each path with the reason it failed. */
export class LibraryNotFoundError extends Error {
  readonly tried: readonly { path: string; reason: string }[];
  constructor(names: LibraryNames, tried: { path: string; reason: string }[]) {
    const lines = tried.map((t) => `  ${t.path}: ${t.reason}`).join("\n");
    super(
      `Cannot load the ${names.label} library. Tried:\n${lines}\n` +
        `Set ${names.envVar} to the library's path, or install it (${names.installHint}).`,
    );
    this.name = "LibraryNotFoundError";
    this.tried = tried;
  }
}

/** The ordered list of paths `openLibrary` will try. */
export function libraryCandidates(names: LibraryNames, configuredPath?: string): string[] {
  const paths: string[] = [];
  const fromEnv = Deno.env.get(names.envVar);
  if (fromEnv) paths.push(fromEnv);
  if (configuredPath) paths.push(configuredPath);
  paths.push(...(names.candidates[Deno.build.os] ?? []));
  return paths;
}

/** Opens the first candidate that loads with `symbols`. */
export function openLibrary<S extends Deno.ForeignLibraryInterface>(
  names: LibraryNames,
  symbols: S,
  configuredPath?: string,
): Deno.DynamicLibrary<S> {
  const tried: { path: string; reason: string }[] = [];
  for (const path of libraryCandidates(names, configuredPath)) {
    try {
      return Deno.dlopen(path, symbols);
    } catch (error) {
      tried.push({ path, reason: error instanceof Error ? error.message : String(error) });
    }
  }
  throw new LibraryNotFoundError(names, tried);
}
