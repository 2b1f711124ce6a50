/**
 * Logging for every Rialto command: LogTape, one line a record, on stderr so that a
 * command's own output (JSON from `rialto get`, say) stays clean on stdout.
 */
import { configure, defaultTextFormatter, getLogger, type LogLevel, reset } from "@logtape/logtape";
import type { Logger, LogRecord } from "@logtape/logtape";

export type { Logger };

const encoder = new TextEncoder();

function stderrSink(record: LogRecord): void {
  Deno.stderr.writeSync(encoder.encode(defaultTextFormatter(record)));
}

/** Sets the level of every "rialto" logger. Safe to call again (a config reload). */
export async function setupLogging(level: LogLevel = "info"): Promise<void> {
  await reset();
  await configure({
    sinks: { stderr: stderrSink },
    loggers: [
      { category: ["rialto"], lowestLevel: level, sinks: ["stderr"] },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["stderr"] },
    ],
  });
}

/** The logger for one part of Rialto, e.g. `logger("storage")`. */
export function logger(...category: string[]): Logger {
  return getLogger(["rialto", ...category]);
}
