/**
 * The admin HTTP port (Deno.serve): health, status, discovery and metrics. It never
 * sits on the read path; each page is computed on request from what the server holds.
 */
import { logger } from "../log.ts";

const log = logger("admin");

/** What each page shows. `health` decides 200 or 503. */
export interface AdminPages {
  health(): { ready: boolean; [detail: string]: unknown };
  /** May answer later: with worker isolates, it asks each of them. */
  status(): unknown | Promise<unknown>;
  discovery(): unknown;
  /** May answer later: with worker isolates, it merges their metrics. */
  metrics(): string | Promise<string>;
}

export interface AdminServer {
  readonly port: number;
  close(): Promise<void>;
}

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body, null, 2) + "\n", {
    status,
    headers: { "content-type": "application/json; charset=utf-8" },
  });
}

async function route(pages: AdminPages, request: Request): Promise<Response> {
  if (request.method !== "GET" && request.method !== "HEAD") {
    return json({ error: `Method ${request.method} is not allowed` }, 405);
  }
  switch (new URL(request.url).pathname) {
    case "/health": {
      const health = pages.health();
      return json(health, health.ready ? 200 : 503);
    }
    case "/status":
      return json(await pages.status());
    case "/discovery":
      return json(pages.discovery());
    case "/metrics":
      return new Response(await pages.metrics(), {
        headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
      });
    default:
      return json(
        { error: "Not found", pages: ["/health", "/status", "/discovery", "/metrics"] },
        404,
      );
  }
}

/** Starts the admin port; resolves once it listens. */
export function serveAdmin(
  hostname: string,
  port: number,
  pages: AdminPages,
): Promise<AdminServer> {
  return new Promise((resolve) => {
    const server = Deno.serve({
      hostname,
      port,
      onListen: (address) => resolve({ port: address.port, close: () => server.shutdown() }),
      onError: (error) => {
        log.error("Admin request failed: {error}", { error });
        return json({ error: "Internal error" }, 500);
      },
    }, (request) => route(pages, request));
  });
}
