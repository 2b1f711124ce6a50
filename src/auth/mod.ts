/** Client identity, access control and mutual TLS for the read path. */
export { AllowAllAuthorizer, StaticAclAuthorizer } from "./authorizer.ts";
export type { AuthMethod, Authorizer, StoreAclSettings, StoreAuthSettings } from "./authorizer.ts";
export { HttpAuthorizer } from "./http_authorizer.ts";
export type { HttpAuthorizerOptions, HttpAuthorizerSettings } from "./http_authorizer.ts";
export {
  ACCESS_DENIED_MESSAGE,
  ACL_ERROR_MESSAGE,
  ACL_NOT_FOUND_MESSAGE,
  authorizeCall,
  AuthPolicy,
} from "./authorize_call.ts";
export {
  CertificatePrincipalError,
  PrincipalCache,
  principalFromCertificate,
} from "./principal.ts";
export type { PrincipalRule } from "./principal.ts";
export {
  clientCertificateOf,
  createMutualTlsCredentials,
  loadTlsFiles,
  ReloadingCertificateProvider,
} from "./grpc_js_tls.ts";
export type {
  CertificateReloadOptions,
  GrpcTlsSettings,
  MutualTls,
  TlsFiles,
} from "./grpc_js_tls.ts";
export { TlsFileReloader } from "./tls_files.ts";
export type { LoadedTlsFiles, TlsFilesListener } from "./tls_files.ts";
