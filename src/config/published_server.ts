/**
 * Where a running server listens, published beside its config file
 * (`<config>.server.json`), so that `rialto admin --config FILE` finds the admin port
 * even when flags (`--admin-port`) moved it from what the file says. Written atomically
 * once the server listens, removed when it stops; an entry whose process is gone is
 * ignored.
 */
import { resolve } from "node:path";

export interface PublishedServer {
  readonly pid: number;
  readonly adminHost: string;
  readonly adminPort: number;
  readonly grpcPort: number;
  readonly startedAt: string;
}

/** `<absolute config path>.server.json` */
export function publishedServerPath(configPath: string): string {
  return `${resolve(configPath)}.server.json`;
}

/** Publishes `server` for `configPath`; the returned function withdraws it (if still ours). */
export async function publishServer(
  configPath: string,
  server: PublishedServer,
): Promise<() => Promise<void>> {
  const path = publishedServerPath(configPath);
  const temp = `${path}.${server.pid}.tmp`;
  await Deno.writeTextFile(temp, JSON.stringify(server) + "\n");
  await Deno.rename(temp, path);
  return async () => {
    if ((await readPublished(path))?.pid !== server.pid) return;
    await Deno.remove(path).catch(() => {});
  };
}

/** The server published for `configPath`, or null (none, unreadable, or its process gone). */
export async function findPublishedServer(configPath: string): Promise<PublishedServer | null> {
  const published = await readPublished(publishedServerPath(configPath));
  if (published === null || !processRunning(published.pid)) return null;
  return published;
}

async function readPublished(path: string): Promise<PublishedServer | null> {
  try {
    const value = JSON.parse(await Deno.readTextFile(path));
    const valid = typeof value?.pid === "number" && typeof value.adminHost === "string" &&
      Number.isInteger(value.adminPort);
    return valid ? value as PublishedServer : null;
  } catch {
    return null;
  }
}

/** Whether a process exists (Linux /proc; elsewhere assumed so). */
function processRunning(pid: number): boolean {
  if (Deno.build.os !== "linux") return true;
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}
