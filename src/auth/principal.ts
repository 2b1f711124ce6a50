/**
 * The principal a client certificate names: its subject common name or its SAN URI
 * (`grpc.tls.principal`).
 *
 * The certificate is read straight from its DER bytes. `node:crypto`'s X509Certificate
 * works on Deno 2.8.3, but it only exposes the subject and SANs as joined text
 * ("O=x\nCN=y", "URI:a, DNS:b"), which a crafted value containing a newline or ", URI:"
 * can make ambiguous; walking the ASN.1 is exact and about as short. The transport has
 * already verified the certificate chain; this only reads names.
 */

export type PrincipalRule = "subject-cn" | "san-uri";

/** The certificate names no principal under the rule, or is not a certificate. */
export class CertificatePrincipalError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CertificatePrincipalError";
  }
}

const TAG_SEQUENCE = 0x30;
const TAG_SET = 0x31;
const TAG_OID = 0x06;
const TAG_OCTET_STRING = 0x04;
const TAG_BOOLEAN = 0x01;
const TAG_VERSION = 0xa0; // [0] EXPLICIT
const TAG_EXTENSIONS = 0xa3; // [3] EXPLICIT
const TAG_SAN_URI = 0x86; // GeneralName uniformResourceIdentifier [6] IMPLICIT IA5String

const OID_COMMON_NAME = [0x55, 0x04, 0x03]; // 2.5.4.3
const OID_SUBJECT_ALT_NAME = [0x55, 0x1d, 0x11]; // 2.5.29.17

interface Tlv {
  readonly tag: number;
  /** Offset of the value. */
  readonly start: number;
  /** Offset just past the value. */
  readonly end: number;
}

function readTlv(der: Uint8Array, offset: number, limit: number): Tlv {
  if (offset + 2 > limit) throw malformed();
  const tag = der[offset];
  let length = der[offset + 1];
  let start = offset + 2;
  if (length & 0x80) {
    const bytes = length & 0x7f;
    if (bytes === 0 || bytes > 4 || start + bytes > limit) throw malformed();
    length = 0;
    for (let i = 0; i < bytes; i++) length = length * 256 + der[start + i];
    start += bytes;
  }
  const end = start + length;
  if (end > limit) throw malformed();
  return { tag, start, end };
}

function expect(der: Uint8Array, offset: number, limit: number, tag: number): Tlv {
  const tlv = readTlv(der, offset, limit);
  if (tlv.tag !== tag) throw malformed();
  return tlv;
}

function malformed(): CertificatePrincipalError {
  return new CertificatePrincipalError("Client certificate is not a valid DER X.509 certificate");
}

function oidIs(der: Uint8Array, tlv: Tlv, oid: readonly number[]): boolean {
  if (tlv.tag !== TAG_OID || tlv.end - tlv.start !== oid.length) return false;
  for (let i = 0; i < oid.length; i++) if (der[tlv.start + i] !== oid[i]) return false;
  return true;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });
const latin1 = new TextDecoder("latin1");
const utf16be = new TextDecoder("utf-16be", { fatal: true });

/** Decodes a DirectoryString (or IA5String) value. */
function decodeString(der: Uint8Array, tlv: Tlv): string {
  const bytes = der.subarray(tlv.start, tlv.end);
  try {
    switch (tlv.tag) {
      case 0x0c: // UTF8String
        return utf8.decode(bytes);
      case 0x13: // PrintableString
      case 0x16: // IA5String
      case 0x14: // TeletexString (treated as Latin-1, as OpenSSL does)
        return latin1.decode(bytes);
      case 0x1e: // BMPString
        return utf16be.decode(bytes);
      case 0x1c: { // UniversalString (UTF-32BE)
        let out = "";
        for (let i = 0; i + 3 < bytes.length; i += 4) {
          out += String.fromCodePoint(
            ((bytes[i] << 24) | (bytes[i + 1] << 16) | (bytes[i + 2] << 8) | bytes[i + 3]) >>> 0,
          );
        }
        return out;
      }
    }
  } catch {
    throw new CertificatePrincipalError("Client certificate has a name that is not valid text");
  }
  throw new CertificatePrincipalError(
    `Client certificate has a name of unknown string type ${tlv.tag}`,
  );
}

interface TbsParts {
  subject: Tlv;
  extensions: Tlv | null;
}

function tbsParts(der: Uint8Array): TbsParts {
  const cert = expect(der, 0, der.length, TAG_SEQUENCE);
  if (cert.end !== der.length) throw malformed();
  const tbs = expect(der, cert.start, cert.end, TAG_SEQUENCE);
  let at = tbs.start;
  let field = readTlv(der, at, tbs.end);
  if (field.tag === TAG_VERSION) {
    at = field.end;
    field = readTlv(der, at, tbs.end);
  }
  // serialNumber, signature, issuer, validity, then subject.
  for (let i = 0; i < 4; i++) {
    at = field.end;
    field = readTlv(der, at, tbs.end);
  }
  if (field.tag !== TAG_SEQUENCE) throw malformed();
  const subject = field;
  at = subject.end;
  expect(der, at, tbs.end, TAG_SEQUENCE); // subjectPublicKeyInfo
  at = readTlv(der, at, tbs.end).end;
  let extensions: Tlv | null = null;
  while (at < tbs.end) {
    const optional = readTlv(der, at, tbs.end);
    if (optional.tag === TAG_EXTENSIONS) extensions = optional;
    at = optional.end;
  }
  return { subject, extensions };
}

function subjectCommonNames(der: Uint8Array, subject: Tlv): string[] {
  const names: string[] = [];
  for (let at = subject.start; at < subject.end;) {
    const rdn = expect(der, at, subject.end, TAG_SET);
    for (let a = rdn.start; a < rdn.end;) {
      const attribute = expect(der, a, rdn.end, TAG_SEQUENCE);
      const type = readTlv(der, attribute.start, attribute.end);
      if (oidIs(der, type, OID_COMMON_NAME)) {
        names.push(decodeString(der, readTlv(der, type.end, attribute.end)));
      }
      a = attribute.end;
    }
    at = rdn.end;
  }
  return names;
}

function sanUris(der: Uint8Array, extensionsTag: Tlv | null): string[] {
  const uris: string[] = [];
  if (extensionsTag === null) return uris;
  const list = expect(der, extensionsTag.start, extensionsTag.end, TAG_SEQUENCE);
  for (let at = list.start; at < list.end;) {
    const extension = expect(der, at, list.end, TAG_SEQUENCE);
    const id = readTlv(der, extension.start, extension.end);
    if (oidIs(der, id, OID_SUBJECT_ALT_NAME)) {
      let next = readTlv(der, id.end, extension.end);
      if (next.tag === TAG_BOOLEAN) next = readTlv(der, next.end, extension.end);
      if (next.tag !== TAG_OCTET_STRING) throw malformed();
      const names = expect(der, next.start, next.end, TAG_SEQUENCE);
      for (let n = names.start; n < names.end;) {
        const name = readTlv(der, n, names.end);
        if (name.tag === TAG_SAN_URI) uris.push(latin1.decode(der.subarray(name.start, name.end)));
        n = name.end;
      }
    }
    at = extension.end;
  }
  return uris;
}

/**
 * The principal of a client certificate under `rule`. Throws CertificatePrincipalError
 * when the bytes are not a certificate, when it names no principal, or when it names
 * more than one (two CNs, two SAN URIs): an ambiguous identity is refused, not guessed.
 */
export function principalFromCertificate(der: Uint8Array, rule: PrincipalRule): string {
  const { subject, extensions } = tbsParts(der);
  const found = rule === "subject-cn" ? subjectCommonNames(der, subject) : sanUris(der, extensions);
  const what = rule === "subject-cn" ? "subject common name" : "SAN URI";
  if (found.length === 0) {
    throw new CertificatePrincipalError(`Client certificate has no ${what}`);
  }
  if (found.length > 1) {
    throw new CertificatePrincipalError(
      `Client certificate has ${found.length} ${what}s (${found.map((n) => `"${n}"`).join(", ")})`,
    );
  }
  if (found[0] === "") {
    throw new CertificatePrincipalError(`Client certificate has an empty ${what}`);
  }
  return found[0];
}

/**
 * Remembers the principal (or the error) of each certificate object, so a connection
 * whose transport hands over the same `Uint8Array` on every call pays for parsing once.
 * Keyed by object identity in a WeakMap: no per-request key building, nothing retained
 * after the connection's certificate is dropped.
 */
export class PrincipalCache {
  readonly rule: PrincipalRule;
  readonly #known = new WeakMap<Uint8Array, string | CertificatePrincipalError>();

  constructor(rule: PrincipalRule) {
    this.rule = rule;
  }

  /** The principal, or the CertificatePrincipalError explaining why there is none. */
  resolve(der: Uint8Array): string | CertificatePrincipalError {
    let known = this.#known.get(der);
    if (known === undefined) {
      try {
        known = principalFromCertificate(der, this.rule);
      } catch (e) {
        if (!(e instanceof CertificatePrincipalError)) throw e;
        known = e;
      }
      this.#known.set(der, known);
    }
    return known;
  }
}
