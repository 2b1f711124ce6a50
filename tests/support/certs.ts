/**
 * A throwaway PKI for TLS tests, made with the `openssl` command line in a temp dir:
 * a CA, a server certificate for 127.0.0.1/localhost, client certificates with a chosen
 * subject CN and SAN URI, an expired client certificate and one from a foreign CA.
 * EC P-256 keys keep generation fast. `cleanup()` removes every file it made.
 */

export interface CertFiles {
  readonly certFile: string;
  readonly keyFile: string;
  /** DER bytes of the certificate. */
  readonly der: Uint8Array;
}

export interface ClientCertOptions {
  /** Subject common name. */
  readonly cn: string;
  /** A whole `openssl -subj` subject instead of "/O=Rialto Tests/CN=<cn>" (e.g. two CNs). */
  readonly subject?: string;
  /** A SAN URI such as "spiffe://rialto/client-a"; none when absent. */
  readonly sanUri?: string;
  /** Issue a certificate whose validity ended in 2020. */
  readonly expired?: boolean;
  /** Sign with the foreign CA, which the server does not trust. */
  readonly foreign?: boolean;
}

export interface TestPki {
  readonly dir: string;
  /** The CA that signs the server's and the trusted clients' certificates. */
  readonly ca: CertFiles;
  /** A second CA nobody trusts. */
  readonly foreignCa: CertFiles;
  /** Server certificate with SAN DNS:localhost and IP:127.0.0.1, signed by `ca`. */
  readonly server: CertFiles;
  /** Issues a new server certificate (for rotation tests) into fresh files. */
  issueServer(cn: string): Promise<CertFiles>;
  issueClient(options: ClientCertOptions): Promise<CertFiles>;
  cleanup(): Promise<void>;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  const out = await new Deno.Command("openssl", { args, cwd, stdout: "piped", stderr: "piped" })
    .output();
  if (!out.success) {
    const err = new TextDecoder().decode(out.stderr);
    throw new Error(`openssl ${args[0]} failed: ${err}`);
  }
}

/** `openssl -subj` splits on "/" and "+"; a backslash makes them literal. */
function escapeSubjectValue(value: string): string {
  return value.replace(/[\\/+]/g, (c) => "\\" + c);
}

async function readDer(certFile: string, cwd: string): Promise<Uint8Array> {
  const derFile = certFile + ".der";
  await openssl(["x509", "-in", certFile, "-outform", "DER", "-out", derFile], cwd);
  const der = await Deno.readFile(derFile);
  await Deno.remove(derFile);
  return der;
}

async function makeCa(dir: string, name: string): Promise<CertFiles> {
  const keyFile = `${dir}/${name}.key`;
  const certFile = `${dir}/${name}.pem`;
  await openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", keyFile], dir);
  await openssl([
    "req",
    "-x509",
    "-new",
    "-key",
    keyFile,
    "-sha256",
    "-days",
    "30",
    "-subj",
    `/CN=${name}`,
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
    "-out",
    certFile,
  ], dir);
  return { certFile, keyFile, der: await readDer(certFile, dir) };
}

export async function createTestPki(): Promise<TestPki> {
  const dir = await Deno.makeTempDir({ prefix: "rialto_pki_" });
  let serial = 1000;
  try {
    const ca = await makeCa(dir, "ca");
    const foreignCa = await makeCa(dir, "foreign_ca");

    const issue = async (
      name: string,
      subject: string,
      extensions: string[],
      signer: CertFiles,
      expired: boolean,
    ): Promise<CertFiles> => {
      const keyFile = `${dir}/${name}.key`;
      const csrFile = `${dir}/${name}.csr`;
      const certFile = `${dir}/${name}.pem`;
      const extFile = `${dir}/${name}.ext`;
      await openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", keyFile], dir);
      await openssl(
        ["req", "-new", "-utf8", "-key", keyFile, "-subj", subject, "-out", csrFile],
        dir,
      );
      await Deno.writeTextFile(extFile, "[ext]\n" + extensions.join("\n") + "\n");
      serial++;
      if (expired) {
        // `openssl x509` in OpenSSL 3.0 has no -not_before; `openssl ca` takes explicit dates.
        const caDir = `${dir}/${name}_ca`;
        await Deno.mkdir(caDir);
        await Deno.writeTextFile(`${caDir}/index.txt`, "");
        await Deno.writeTextFile(`${caDir}/serial`, serial.toString(16).padStart(4, "0") + "\n");
        const config = [
          "[ca]",
          "default_ca = d",
          "[d]",
          `database = ${caDir}/index.txt`,
          `new_certs_dir = ${caDir}`,
          `serial = ${caDir}/serial`,
          "default_md = sha256",
          "policy = p",
          "unique_subject = no",
          "[p]",
          "commonName = supplied",
          ...extensions.length > 0 ? ["[ext]", ...extensions] : [],
        ].join("\n") + "\n";
        await Deno.writeTextFile(`${caDir}/ca.cnf`, config);
        await openssl([
          "ca",
          "-batch",
          "-notext",
          "-config",
          `${caDir}/ca.cnf`,
          "-cert",
          signer.certFile,
          "-keyfile",
          signer.keyFile,
          "-in",
          csrFile,
          "-out",
          certFile,
          "-startdate",
          "20200101000000Z",
          "-enddate",
          "20200102000000Z",
          "-extensions",
          "ext",
        ], dir);
      } else {
        await openssl([
          "x509",
          "-req",
          "-in",
          csrFile,
          "-CA",
          signer.certFile,
          "-CAkey",
          signer.keyFile,
          "-set_serial",
          String(serial),
          "-days",
          "7",
          "-sha256",
          "-extfile",
          extFile,
          "-extensions",
          "ext",
          "-out",
          certFile,
        ], dir);
      }
      return { certFile, keyFile, der: await readDer(certFile, dir) };
    };

    let serverCount = 0;
    const issueServer = (cn: string) =>
      issue(
        `server_${serverCount++}`,
        `/CN=${cn}`,
        [
          "basicConstraints=critical,CA:FALSE",
          "keyUsage=critical,digitalSignature",
          "extendedKeyUsage=serverAuth",
          "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ],
        ca,
        false,
      );

    let clientCount = 0;
    const issueClient = (options: ClientCertOptions) => {
      const extensions = [
        "basicConstraints=critical,CA:FALSE",
        "keyUsage=critical,digitalSignature",
        "extendedKeyUsage=clientAuth",
      ];
      if (options.sanUri !== undefined) extensions.push(`subjectAltName=URI:${options.sanUri}`);
      return issue(
        `client_${clientCount++}`,
        options.subject ?? `/O=Rialto Tests/CN=${escapeSubjectValue(options.cn)}`,
        extensions,
        options.foreign ? foreignCa : ca,
        options.expired ?? false,
      );
    };

    const server = await issueServer("rialto-server");
    return {
      dir,
      ca,
      foreignCa,
      server,
      issueServer,
      issueClient,
      cleanup: () => Deno.remove(dir, { recursive: true }),
    };
  } catch (e) {
    await Deno.remove(dir, { recursive: true });
    throw e;
  }
}
