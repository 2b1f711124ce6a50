/**
 * The bench's throwaway PKI for `--tls`, made with the `openssl` command line in a
 * directory of the cache dir (remade on every run): a CA, a server certificate for
 * 127.0.0.1 and localhost, and client certificates named by their subject CN. Every
 * certificate is X.509 v3 with its extensions (Deno panics on a v1 client certificate).
 * EC P-256 keys keep it quick.
 */

export interface CertAndKey {
  readonly certFile: string;
  readonly keyFile: string;
}

export interface BenchPki {
  readonly dir: string;
  readonly caFile: string;
  readonly server: CertAndKey;
  /** Client certificates by subject CN. */
  readonly clients: Readonly<Record<string, CertAndKey>>;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  const out = await new Deno.Command("openssl", { args, cwd, stdout: "piped", stderr: "piped" })
    .output()
    .catch((error: Error) => {
      throw new Error(
        `Cannot run openssl (${error.message}): install it with scripts/bootstrap.sh --bench`,
      );
    });
  if (!out.success) {
    throw new Error(`openssl ${args.join(" ")} failed:\n${new TextDecoder().decode(out.stderr)}`);
  }
}

const newKey = (
  keyFile: string,
) => ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", keyFile];

/** Makes the PKI in `dir` (emptied first) with one client certificate per name of `clientCns`. */
export async function makeBenchPki(dir: string, clientCns: readonly string[]): Promise<BenchPki> {
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  await Deno.mkdir(dir, { recursive: true });
  const caFile = `${dir}/ca.pem`;
  const caKey = `${dir}/ca.key`;
  await openssl(newKey(caKey), dir);
  await openssl([
    "req",
    "-x509",
    "-new",
    "-key",
    caKey,
    "-sha256",
    "-days",
    "7",
    "-subj",
    "/CN=rialto-bench-ca",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
    "-out",
    caFile,
  ], dir);
  let serial = 100;
  const issue = async (name: string, cn: string, extensions: string[]): Promise<CertAndKey> => {
    const keyFile = `${dir}/${name}.key`;
    const certFile = `${dir}/${name}.pem`;
    const csrFile = `${dir}/${name}.csr`;
    const extFile = `${dir}/${name}.ext`;
    await openssl(newKey(keyFile), dir);
    await openssl(["req", "-new", "-key", keyFile, "-subj", `/CN=${cn}`, "-out", csrFile], dir);
    await Deno.writeTextFile(extFile, `[v3]\n${extensions.join("\n")}\n`);
    await openssl([
      "x509",
      "-req",
      "-in",
      csrFile,
      "-CA",
      caFile,
      "-CAkey",
      caKey,
      "-set_serial",
      String(serial++),
      "-days",
      "7",
      "-sha256",
      "-extfile",
      extFile,
      "-extensions",
      "v3",
      "-out",
      certFile,
    ], dir);
    return { certFile, keyFile };
  };
  const leaf = ["basicConstraints=critical,CA:FALSE", "keyUsage=critical,digitalSignature"];
  const server = await issue("server", "rialto-bench-server", [
    ...leaf,
    "extendedKeyUsage=serverAuth",
    "subjectAltName=IP:127.0.0.1,DNS:localhost",
  ]);
  const clients: Record<string, CertAndKey> = {};
  for (const cn of clientCns) {
    clients[cn] = await issue(`client-${cn}`, cn, [...leaf, "extendedKeyUsage=clientAuth"]);
  }
  return { dir, caFile, server, clients };
}
