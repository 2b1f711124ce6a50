/**
 * A stand-in for an external authorization service: `GET /?principal=..&store=..&method=..`
 * answers `{"allow": bool}`. Tests change its answers, add latency, make it fail or take
 * it down, and read which lookups it saw.
 */

export type AuthorityRule = (principal: string, store: string, method: string) => boolean;

export interface TestAuthority {
  readonly url: string;
  /** Lookups seen, as "principal store method". */
  readonly requests: string[];
  /** Decides answers; default allows nobody. */
  rule: AuthorityRule;
  /** Delay before answering, in ms. */
  latencyMs: number;
  /** When set, answer this HTTP status with an error body instead of a decision. */
  failWithStatus: number | null;
  /** When set, answer 200 with this body instead of a decision (e.g. malformed JSON). */
  rawBody: string | null;
  /** Stops listening: lookups then fail to connect. */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  start(): void;
}

export function startAuthority(rule: AuthorityRule = () => false): TestAuthority {
  let server: Deno.HttpServer<Deno.NetAddr> | null = null;
  let port = 0;
  /** Ends every delayed answer at once, so `stop` does not wait out the latency. */
  const delayed = new Set<() => void>();
  const authority: TestAuthority = {
    url: "",
    requests: [],
    rule,
    latencyMs: 0,
    failWithStatus: null,
    rawBody: null,
    stop: async () => {
      for (const finish of delayed) finish();
      if (server !== null) await server.shutdown();
      server = null;
    },
    start: () => listen(),
  };
  const handler = async (request: Request): Promise<Response> => {
    const params = new URL(request.url).searchParams;
    const principal = params.get("principal") ?? "";
    const store = params.get("store") ?? "";
    const method = params.get("method") ?? "";
    authority.requests.push(`${principal} ${store} ${method}`);
    if (authority.latencyMs > 0) {
      await new Promise<void>((resolve) => {
        const finish = () => {
          clearTimeout(id);
          delayed.delete(finish);
          resolve();
        };
        const id = setTimeout(finish, authority.latencyMs);
        delayed.add(finish);
      });
    }
    if (authority.failWithStatus !== null) {
      return new Response("authority failure", { status: authority.failWithStatus });
    }
    if (authority.rawBody !== null) return new Response(authority.rawBody, { status: 200 });
    return Response.json({ allow: authority.rule(principal, store, method) });
  };
  const listen = () => {
    server = Deno.serve({ hostname: "127.0.0.1", port, onListen: () => {} }, handler);
    port = server.addr.port;
    (authority as { url: string }).url = `http://127.0.0.1:${port}/authz`;
  };
  listen();
  return authority;
}
