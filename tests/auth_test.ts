import { rawService } from "./support/raw_grpc.ts";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { X509Certificate } from "node:crypto";
import * as tls from "node:tls";
import * as grpc from "@grpc/grpc-js";
import {
  ACCESS_DENIED_MESSAGE,
  ACL_ERROR_MESSAGE,
  ACL_NOT_FOUND_MESSAGE,
  AllowAllAuthorizer,
  authorizeCall,
  type Authorizer,
  AuthPolicy,
  CertificatePrincipalError,
  clientCertificateOf,
  createMutualTlsCredentials,
  HttpAuthorizer,
  type HttpAuthorizerSettings,
  PrincipalCache,
  principalFromCertificate,
  StaticAclAuthorizer,
} from "../src/auth/mod.ts";
import { GrpcStatus, GrpcStatusError } from "../src/transport/types.ts";
import { createTestPki, type TestPki } from "./support/certs.ts";
import { startAuthority } from "./support/authority.ts";

// One PKI for the whole file: openssl runs take a while. Removed by the last test, and
// on unload should a filtered run skip it.
const pkiPromise = createTestPki();
globalThis.addEventListener("unload", () => {
  pkiPromise.then((pki) => Deno.removeSync(pki.dir, { recursive: true })).catch(() => {});
});
async function testPki(): Promise<TestPki> {
  return await pkiPromise;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function statusOf(fn: () => unknown): GrpcStatusError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof GrpcStatusError, `expected GrpcStatusError, got ${e}`);
    return e;
  }
  assert.fail("expected the call to throw");
}

// ---------------------------------------------------------------- principals

Deno.test("principal is the subject CN or the SAN URI, as node:crypto reads them", async () => {
  const pki = await testPki();
  const cert = await pki.issueClient({ cn: "client-a", sanUri: "spiffe://rialto/client-a" });
  assert.equal(principalFromCertificate(cert.der, "subject-cn"), "client-a");
  assert.equal(principalFromCertificate(cert.der, "san-uri"), "spiffe://rialto/client-a");
  const x509 = new X509Certificate(cert.der);
  assert.match(x509.subject, /CN=client-a$/);
  assert.equal(x509.subjectAltName, "URI:spiffe://rialto/client-a");
});

Deno.test("a UTF-8 common name is decoded", async () => {
  const pki = await testPki();
  const cert = await pki.issueClient({ cn: "клиент-é" });
  assert.equal(principalFromCertificate(cert.der, "subject-cn"), "клиент-é");
});

Deno.test("a certificate without the principal, or with two, is refused", async () => {
  const pki = await testPki();
  const noUri = await pki.issueClient({ cn: "client-b" });
  assert.throws(
    () => principalFromCertificate(noUri.der, "san-uri"),
    (e) => e instanceof CertificatePrincipalError && /no SAN URI/.test(e.message),
  );
  const twoCns = await pki.issueClient({ cn: "", subject: "/CN=first/CN=second" });
  assert.throws(
    () => principalFromCertificate(twoCns.der, "subject-cn"),
    (e) => e instanceof CertificatePrincipalError && /2 subject common names/.test(e.message),
  );
  assert.throws(
    () => principalFromCertificate(new Uint8Array([0x30, 0x03, 0x02, 0x01]), "subject-cn"),
    CertificatePrincipalError,
  );
  assert.throws(
    () => principalFromCertificate(noUri.der.subarray(0, noUri.der.length - 10), "subject-cn"),
    CertificatePrincipalError,
  );
});

Deno.test("principal cache parses a certificate object once", async () => {
  const pki = await testPki();
  const cert = await pki.issueClient({ cn: "client-c" });
  const cache = new PrincipalCache("subject-cn");
  assert.equal(cache.resolve(cert.der), "client-c");
  // Overwrite the bytes: a cached answer does not look at them again.
  const copy = new Uint8Array(cert.der);
  assert.equal(cache.resolve(copy), "client-c");
  copy.fill(0);
  assert.equal(cache.resolve(copy), "client-c");
  assert.ok(cache.resolve(new Uint8Array(4)) instanceof CertificatePrincipalError);
});

// ---------------------------------------------------------------- authorizers

Deno.test("static ACL allows listed principals per method and updates live", () => {
  const acl = new StaticAclAuthorizer({
    people: { acl: { get: ["client-a"], batchGet: ["client-b"] } },
    open: {},
  });
  assert.equal(acl.check("client-a", "people", "get"), true);
  assert.equal(acl.check("client-a", "people", "batchGet"), false);
  assert.equal(acl.check("client-b", "people", "batchGet"), true);
  assert.equal(acl.check("client-a", "open", "get"), false);
  assert.equal(acl.hasAcl("people"), true);
  assert.equal(acl.hasAcl("open"), false);
  acl.update({ people: { acl: { get: ["client-b"] } } });
  assert.equal(acl.check("client-a", "people", "get"), false);
  assert.equal(acl.check("client-b", "people", "get"), true);
  assert.equal(acl.check("client-b", "people", "batchGet"), false);
});

Deno.test("authorizeCall maps each outcome to Venice's gRPC status", async () => {
  const pki = await testPki();
  const allowed = await pki.issueClient({ cn: "client-a", sanUri: "spiffe://rialto/a" });
  const other = await pki.issueClient({ cn: "client-z" });
  const policy = new AuthPolicy(
    new StaticAclAuthorizer({ people: { acl: { get: ["client-a"], batchGet: [] } } }),
    "subject-cn",
  );
  assert.equal(authorizeCall(policy, allowed.der, "people", "GET", "get"), undefined);

  let e = statusOf(() => authorizeCall(policy, allowed.der, null, "GET", "get"));
  assert.equal(e.code, GrpcStatus.INVALID_ARGUMENT);
  assert.equal(e.message, "Invalid request");
  e = statusOf(() => authorizeCall(policy, allowed.der, "people", "", "get"));
  assert.equal(e.code, GrpcStatus.INVALID_ARGUMENT);
  e = statusOf(() => authorizeCall(policy, null, "people", "GET", "get"));
  assert.equal(e.code, GrpcStatus.UNAUTHENTICATED);
  assert.equal(e.message, "Invalid certificate");
  e = statusOf(() => authorizeCall(policy, new Uint8Array(10), "people", "GET", "get"));
  assert.equal(e.code, GrpcStatus.UNAUTHENTICATED);
  e = statusOf(() => authorizeCall(policy, allowed.der, "people", "POST", "batchGet"));
  assert.equal(e.code, GrpcStatus.PERMISSION_DENIED);
  assert.equal(e.message, ACCESS_DENIED_MESSAGE);
  e = statusOf(() => authorizeCall(policy, other.der, "people", "GET", "get"));
  assert.equal(e.message, ACCESS_DENIED_MESSAGE);
  e = statusOf(() => authorizeCall(policy, allowed.der, "places", "GET", "get"));
  assert.equal(e.code, GrpcStatus.PERMISSION_DENIED);
  assert.equal(e.message, ACL_NOT_FOUND_MESSAGE);

  const byUri = new AuthPolicy(
    new StaticAclAuthorizer({ people: { acl: { get: ["spiffe://rialto/a"] } } }),
    "san-uri",
  );
  assert.equal(authorizeCall(byUri, allowed.der, "people", "GET", "get"), undefined);
  e = statusOf(() => authorizeCall(byUri, other.der, "people", "GET", "get"));
  assert.equal(e.code, GrpcStatus.UNAUTHENTICATED);

  const open = new AuthPolicy(new AllowAllAuthorizer(), "subject-cn");
  assert.equal(authorizeCall(open, null, null, "", "get"), undefined);

  const broken: Authorizer = {
    check: () => {
      throw new Error("boom");
    },
  };
  e = statusOf(() =>
    authorizeCall(new AuthPolicy(broken, "subject-cn"), allowed.der, "people", "GET", "get")
  );
  assert.equal(e.code, GrpcStatus.PERMISSION_DENIED);
  assert.equal(e.message, ACL_ERROR_MESSAGE);

  const later: Authorizer = { check: (p) => Promise.resolve(p === "client-a") };
  const laterPolicy = new AuthPolicy(later, "subject-cn");
  const pending = authorizeCall(laterPolicy, allowed.der, "people", "GET", "get");
  assert.ok(pending instanceof Promise);
  await pending;
  await assert.rejects(
    authorizeCall(laterPolicy, other.der, "people", "GET", "get") as Promise<void>,
    (err) => err instanceof GrpcStatusError && err.code === GrpcStatus.PERMISSION_DENIED,
  );
});

// ---------------------------------------------------------------- HTTP authority

function httpSettings(
  url: string,
  overrides: Partial<HttpAuthorizerSettings> = {},
): HttpAuthorizerSettings {
  return {
    url,
    refreshIntervalMs: 60_000,
    timeoutMs: 300,
    whenUnreachable: "keep-last",
    ...overrides,
  };
}

Deno.test("http authorizer waits for the first answer, then answers from cache synchronously", async () => {
  const authority = startAuthority((p, s, m) => p === "client-a" && s === "people" && m === "get");
  const authorizer = new HttpAuthorizer(httpSettings(authority.url));
  try {
    const first = authorizer.check("client-a", "people", "get");
    assert.ok(first instanceof Promise);
    assert.equal(await first, true);
    assert.equal(authorizer.check("client-a", "people", "get"), true);
    assert.equal(await authorizer.check("client-a", "people", "batchGet"), false);
    assert.equal(authorizer.check("client-a", "people", "batchGet"), false);
    assert.equal(await authorizer.check("client-b", "people", "get"), false);
    assert.deepEqual(authority.requests, [
      "client-a people get",
      "client-a people batchGet",
      "client-b people get",
    ]);
    // Concurrent first requests share one lookup.
    const [x, y] = [authorizer.check("c", "s", "get"), authorizer.check("c", "s", "get")];
    assert.equal(x, y);
    await x;
    assert.equal(authority.requests.length, 4);
  } finally {
    authorizer.close();
    await authority.stop();
  }
});

Deno.test("http authorizer picks up changed answers on its background refresh", async () => {
  const authority = startAuthority(() => true);
  const authorizer = new HttpAuthorizer(httpSettings(authority.url, { refreshIntervalMs: 100 }));
  try {
    assert.equal(await authorizer.check("client-a", "people", "get"), true);
    authority.rule = () => false;
    const deadline = Date.now() + 3000;
    while (authorizer.check("client-a", "people", "get") === true && Date.now() < deadline) {
      await sleep(20);
    }
    assert.equal(authorizer.check("client-a", "people", "get"), false);
    assert.ok(authority.requests.length >= 2);
  } finally {
    authorizer.close();
    await authority.stop();
  }
});

Deno.test("a slow authority is bounded by timeoutMs and whenUnreachable decides", async () => {
  const authority = startAuthority(() => true);
  authority.latencyMs = 1000;
  const deny = new HttpAuthorizer(httpSettings(authority.url, { whenUnreachable: "deny" }));
  const allow = new HttpAuthorizer(httpSettings(authority.url, { whenUnreachable: "allow" }));
  const keep = new HttpAuthorizer(httpSettings(authority.url, { whenUnreachable: "keep-last" }));
  try {
    const started = performance.now();
    const answers = await Promise.all([
      deny.check("client-a", "people", "get"),
      allow.check("client-a", "people", "get"),
      keep.check("client-a", "people", "get"),
    ]);
    const waited = performance.now() - started;
    assert.deepEqual(answers, [false, true, false]);
    assert.ok(waited >= 250 && waited < 900, `waited ${waited} ms`);
    // The fallback is cached: the next request does not wait.
    assert.equal(deny.check("client-a", "people", "get"), false);
    assert.equal(allow.check("client-a", "people", "get"), true);
  } finally {
    deny.close();
    allow.close();
    keep.close();
    await authority.stop();
  }
});

Deno.test("when the authority goes down, keep-last keeps and deny/allow override", async () => {
  const authority = startAuthority((p) => p === "client-a");
  const keep = new HttpAuthorizer(httpSettings(authority.url, { whenUnreachable: "keep-last" }));
  const deny = new HttpAuthorizer(httpSettings(authority.url, { whenUnreachable: "deny" }));
  const allow = new HttpAuthorizer(httpSettings(authority.url, { whenUnreachable: "allow" }));
  try {
    for (const a of [keep, deny, allow]) {
      assert.equal(await a.check("client-a", "people", "get"), true);
      assert.equal(await a.check("client-b", "people", "get"), false);
    }
    await authority.stop();
    await Promise.all([keep.refreshNow(), deny.refreshNow(), allow.refreshNow()]);
    assert.equal(keep.check("client-a", "people", "get"), true);
    assert.equal(keep.check("client-b", "people", "get"), false);
    assert.equal(deny.check("client-a", "people", "get"), false);
    assert.equal(allow.check("client-b", "people", "get"), true);
    // A new key while down: keep-last has nothing to keep, so it denies.
    assert.equal(await keep.check("client-a", "places", "get"), false);

    authority.start();
    await Promise.all([keep.refreshNow(), deny.refreshNow(), allow.refreshNow()]);
    assert.equal(deny.check("client-a", "people", "get"), true);
    assert.equal(allow.check("client-b", "people", "get"), false);
    assert.equal(keep.check("client-a", "places", "get"), true);
  } finally {
    keep.close();
    deny.close();
    allow.close();
    await authority.stop();
  }
});

Deno.test("an authority error status or a malformed answer counts as unreachable", async () => {
  const authority = startAuthority(() => true);
  const allow = new HttpAuthorizer(httpSettings(authority.url, { whenUnreachable: "allow" }));
  const deny = new HttpAuthorizer(httpSettings(authority.url, { whenUnreachable: "deny" }));
  try {
    authority.failWithStatus = 500;
    assert.equal(await allow.check("client-a", "people", "get"), true);
    assert.equal(await deny.check("client-a", "people", "get"), false);
    authority.failWithStatus = null;
    for (const body of ["not json", '{"allow": "yes"}', "null"]) {
      authority.rawBody = body;
      assert.equal(await allow.check("client-a", `s-${body}`, "get"), true);
      assert.equal(await deny.check("client-a", `s-${body}`, "get"), false);
    }
    authority.rawBody = null;
    authority.rule = () => false;
    await allow.refreshNow();
    assert.equal(allow.check("client-a", "people", "get"), false);
  } finally {
    allow.close();
    deny.close();
    await authority.stop();
  }
});

Deno.test("a failed first lookup is retried in the background when asked again", async () => {
  const authority = startAuthority(() => true);
  authority.failWithStatus = 503;
  const authorizer = new HttpAuthorizer(
    httpSettings(authority.url, { refreshIntervalMs: 60_000, whenUnreachable: "deny" }),
  );
  try {
    assert.equal(await authorizer.check("client-a", "people", "get"), false);
    authority.failWithStatus = null;
    await sleep(1100); // retry spacing is min(refreshIntervalMs, 1 s)
    assert.equal(authorizer.check("client-a", "people", "get"), false); // triggers the retry
    const deadline = Date.now() + 2000;
    while (authorizer.check("client-a", "people", "get") !== true && Date.now() < deadline) {
      await sleep(20);
    }
    assert.equal(authorizer.check("client-a", "people", "get"), true);
  } finally {
    authorizer.close();
    await authority.stop();
  }
});

Deno.test("entries nobody asks for are evicted after some refresh rounds", async () => {
  const authority = startAuthority(() => true);
  const authorizer = new HttpAuthorizer(httpSettings(authority.url), { evictAfterRefreshes: 2 });
  try {
    await authorizer.check("client-a", "people", "get");
    await authorizer.check("client-b", "people", "get");
    assert.equal(authorizer.size, 2);
    await authorizer.refreshNow();
    authorizer.check("client-a", "people", "get");
    await authorizer.refreshNow();
    await authorizer.refreshNow();
    assert.equal(authorizer.size, 1);
    assert.equal(authorizer.check("client-a", "people", "get"), true);
  } finally {
    authorizer.close();
    await authority.stop();
  }
});

// ---------------------------------------------------------------- grpc-js mutual TLS

const echoService = rawService("rialto.test.Echo", ["get"]);

interface MtlsServer {
  port: number;
  server: grpc.Server;
  /** Certificate objects the handler saw, in call order. */
  seen: (Uint8Array | null)[];
  close(): Promise<void>;
}

async function startMtlsServer(
  pki: TestPki,
  dir: string,
  policy: AuthPolicy,
): Promise<
  MtlsServer & { provider: Awaited<ReturnType<typeof createMutualTlsCredentials>>["provider"] }
> {
  const certFile = `${dir}/server.pem`;
  const keyFile = `${dir}/server.key`;
  await Deno.copyFile(pki.server.certFile, certFile);
  await Deno.copyFile(pki.server.keyFile, keyFile);
  const { credentials, provider } = await createMutualTlsCredentials({
    enabled: true,
    certFile,
    keyFile,
    caFile: pki.ca.certFile,
    principal: policy.principals.rule,
  }, { pollIntervalMs: 60_000 });
  const seen: (Uint8Array | null)[] = [];
  const server = new grpc.Server();
  server.addService(echoService as unknown as grpc.ServiceDefinition, {
    get: (
      call: grpc.ServerUnaryCall<Buffer, Buffer>,
      callback: grpc.sendUnaryData<Buffer>,
    ) => {
      const certificate = clientCertificateOf(call);
      seen.push(certificate);
      seen.push(clientCertificateOf(call));
      try {
        const pending = authorizeCall(policy, certificate, "people", "GET", "get");
        if (pending !== undefined) throw new Error("static ACL answers synchronously");
        const principal = policy.principals.resolve(certificate!) as string;
        callback(null, Buffer.from(`hello ${principal}`));
      } catch (e) {
        const status = e as GrpcStatusError;
        callback({ code: status.code, details: status.message });
      }
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", credentials, (e, p) => e ? reject(e) : resolve(p))
  );
  return {
    port,
    server,
    seen,
    provider,
    close: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => {
          provider.close();
          resolve();
        });
      }),
  };
}

const Client = grpc.makeGenericClientConstructor(
  echoService as unknown as grpc.ServiceDefinition,
  "Echo",
);

async function callOnce(
  client: grpc.Client,
): Promise<{ ok: string } | { code: number; details: string }> {
  return await new Promise((resolve) => {
    (client as unknown as {
      get(
        req: Buffer,
        meta: grpc.Metadata,
        opts: grpc.CallOptions,
        cb: (e: grpc.ServiceError | null, v?: Buffer) => void,
      ): void;
    }).get(Buffer.from("x"), new grpc.Metadata(), { deadline: Date.now() + 5000 }, (e, v) => {
      resolve(e ? { code: e.code, details: e.details } : { ok: v!.toString() });
    });
  });
}

function clientFor(
  pki: TestPki,
  port: number,
  cert?: { certFile: string; keyFile: string },
): grpc.Client {
  const credentials = grpc.credentials.createSsl(
    Buffer.from(Deno.readFileSync(pki.ca.certFile)),
    cert ? Buffer.from(Deno.readFileSync(cert.keyFile)) : null,
    cert ? Buffer.from(Deno.readFileSync(cert.certFile)) : null,
  );
  // grpc-js on Deno refuses an IP address as TLS server name: name the server "localhost".
  return new Client(`127.0.0.1:${port}`, credentials, {
    "grpc.ssl_target_name_override": "localhost",
    "grpc.default_authority": "localhost",
  });
}

Deno.test("mutual TLS: allowed, denied, missing, expired and foreign client certificates", async () => {
  const pki = await testPki();
  const dir = await Deno.makeTempDir({ prefix: "rialto_mtls_" });
  const allowed = await pki.issueClient({ cn: "client-a" });
  const denied = await pki.issueClient({ cn: "client-z" });
  const expired = await pki.issueClient({ cn: "client-a", expired: true });
  const foreign = await pki.issueClient({ cn: "client-a", foreign: true });
  const policy = new AuthPolicy(
    new StaticAclAuthorizer({ people: { acl: { get: ["client-a"] } } }),
    "subject-cn",
  );
  const server = await startMtlsServer(pki, dir, policy);
  const clients: grpc.Client[] = [];
  try {
    const a = clientFor(pki, server.port, allowed);
    clients.push(a);
    assert.deepEqual(await callOnce(a), { ok: "hello client-a" });
    assert.deepEqual(await callOnce(a), { ok: "hello client-a" });
    // One connection, one certificate object for every call: parsed once.
    assert.equal(server.seen.length, 4);
    assert.ok(server.seen[0] !== null);
    for (const s of server.seen) assert.equal(s, server.seen[0]);
    assert.deepEqual(server.seen[0], allowed.der);

    const z = clientFor(pki, server.port, denied);
    clients.push(z);
    const deniedResult = await callOnce(z);
    assert.deepEqual(deniedResult, {
      code: grpc.status.PERMISSION_DENIED,
      details: ACCESS_DENIED_MESSAGE,
    });

    for (const cert of [undefined, expired, foreign]) {
      const c = clientFor(pki, server.port, cert);
      clients.push(c);
      const result = await callOnce(c);
      assert.ok("code" in result, `expected a failure, got ${JSON.stringify(result)}`);
      assert.equal(result.code, grpc.status.UNAVAILABLE);
    }
    // None of the refused handshakes reached the handler.
    assert.equal(server.seen.length, 6);
  } finally {
    for (const c of clients) c.close();
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

async function servedCertificateCn(pki: TestPki, port: number): Promise<string> {
  const socket = tls.connect({
    host: "127.0.0.1",
    port,
    servername: "localhost",
    ca: Buffer.from(Deno.readFileSync(pki.ca.certFile)),
    cert: Buffer.from(Deno.readFileSync(pki.server.certFile)), // any cert from the CA will do
    key: Buffer.from(Deno.readFileSync(pki.server.keyFile)),
    ALPNProtocols: ["h2"],
  });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once("secureConnect", () => resolve());
      socket.once("error", reject);
    });
    return socket.getPeerCertificate().subject.CN as string;
  } finally {
    socket.destroy();
  }
}

Deno.test("a replaced server certificate is served to new connections without a restart", async () => {
  const pki = await testPki();
  const dir = await Deno.makeTempDir({ prefix: "rialto_rotate_" });
  const client = await pki.issueClient({ cn: "client-a" });
  const policy = new AuthPolicy(
    new StaticAclAuthorizer({ people: { acl: { get: ["client-a"] } } }),
    "subject-cn",
  );
  const server = await startMtlsServer(pki, dir, policy);
  const oldClient = clientFor(pki, server.port, client);
  let newClient: grpc.Client | null = null;
  try {
    assert.deepEqual(await callOnce(oldClient), { ok: "hello client-a" });
    assert.equal(await servedCertificateCn(pki, server.port), "rialto-server");

    // A half-done rotation (new certificate, old key) is refused and the old pair stays.
    const rotated = await pki.issueServer("rialto-server-rotated");
    await Deno.writeFile(`${dir}/server.pem.tmp`, await Deno.readFile(rotated.certFile));
    await Deno.rename(`${dir}/server.pem.tmp`, `${dir}/server.pem`);
    assert.equal(await server.provider.reloadNow(), false);
    assert.match(server.provider.lastError?.message ?? "", /does not match/);
    assert.equal(await servedCertificateCn(pki, server.port), "rialto-server");

    // The key arrives: the pair is published and new connections get it.
    await Deno.writeFile(`${dir}/server.key.tmp`, await Deno.readFile(rotated.keyFile));
    await Deno.rename(`${dir}/server.key.tmp`, `${dir}/server.key`);
    assert.equal(await server.provider.reloadNow(), true);
    assert.equal(server.provider.lastError, null);
    await sleep(50); // listeners run setSecureContext synchronously; give the loop a turn
    assert.equal(await servedCertificateCn(pki, server.port), "rialto-server-rotated");

    // The open connection keeps working, and a new client works too.
    assert.deepEqual(await callOnce(oldClient), { ok: "hello client-a" });
    newClient = clientFor(pki, server.port, client);
    assert.deepEqual(await callOnce(newClient), { ok: "hello client-a" });
  } finally {
    oldClient.close();
    newClient?.close();
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the file poller picks up a rotation by itself", async () => {
  const pki = await testPki();
  const dir = await Deno.makeTempDir({ prefix: "rialto_poll_" });
  try {
    const certFile = `${dir}/server.pem`;
    const keyFile = `${dir}/server.key`;
    await Deno.copyFile(pki.server.certFile, certFile);
    await Deno.copyFile(pki.server.keyFile, keyFile);
    const { credentials, provider } = await createMutualTlsCredentials({
      enabled: true,
      certFile,
      keyFile,
      caFile: pki.ca.certFile,
      principal: "subject-cn",
    }, { pollIntervalMs: 50 });
    const server = new grpc.Server();
    server.addService(echoService as unknown as grpc.ServiceDefinition, {
      get: (_c: unknown, cb: grpc.sendUnaryData<Buffer>) => cb(null, Buffer.from("ok")),
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", credentials, (e, p) => e ? reject(e) : resolve(p))
    );
    try {
      const rotated = await pki.issueServer("polled");
      await Deno.copyFile(rotated.keyFile, keyFile);
      await Deno.copyFile(rotated.certFile, certFile);
      const deadline = Date.now() + 3000;
      while (provider.generation < 2 && Date.now() < deadline) await sleep(25);
      assert.equal(provider.generation, 2);
      assert.equal(await servedCertificateCn(pki, port), "polled");
    } finally {
      await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
      provider.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("unusable TLS files fail at startup with a clear error", async () => {
  const pki = await testPki();
  const other = await pki.issueClient({ cn: "x" });
  await assert.rejects(
    createMutualTlsCredentials({
      enabled: true,
      certFile: pki.server.certFile,
      keyFile: other.keyFile,
      caFile: pki.ca.certFile,
      principal: "subject-cn",
    }),
    /does not match certificate/,
  );
  await assert.rejects(
    createMutualTlsCredentials({
      enabled: true,
      certFile: null,
      keyFile: null,
      caFile: null,
      principal: "subject-cn",
    }),
    TypeError,
  );
  const expired = await pki.issueClient({ cn: "old", expired: true });
  await assert.rejects(
    createMutualTlsCredentials({
      enabled: true,
      certFile: expired.certFile,
      keyFile: expired.keyFile,
      caFile: pki.ca.certFile,
      principal: "subject-cn",
    }),
    /not now/,
  );
});

Deno.test("remove the test PKI", async () => {
  await (await testPki()).cleanup();
});
