/**
 * The per-call access decision and its gRPC statuses, as Venice's
 * `ServerStoreAclHandler.validateStoreAclForGRPC` answers them:
 *
 * - resource name that names no store: INVALID_ARGUMENT "Invalid request"
 * - empty `method` field: INVALID_ARGUMENT "Invalid request"
 * - no client certificate, or one naming no principal: UNAUTHENTICATED "Invalid certificate"
 * - store without ACL: PERMISSION_DENIED with Venice's "ACL not found!" text
 * - principal not allowed: PERMISSION_DENIED with Venice's "Access denied!" text
 * - the authorizer failed: PERMISSION_DENIED with Venice's internal-error text
 *
 * With `auth.authorizer: none` nothing is checked, as in Venice without ACL handlers.
 * Errors are made once: a denial costs no allocation either.
 */
import { GrpcStatus, GrpcStatusError } from "../transport/types.ts";
import { AllowAllAuthorizer, type AuthMethod, type Authorizer } from "./authorizer.ts";
import { PrincipalCache, type PrincipalRule } from "./principal.ts";

/** Venice's `AccessResult` messages (internal/venice-common/.../acl/handler/AccessResult.java). */
export const ACCESS_DENIED_MESSAGE = "Access denied!\n" +
  "If you are the store owner, add this application (or your own username for Venice shell client) to the store ACL.\n" +
  "Otherwise, ask the store owner for read permission.";
export const ACL_NOT_FOUND_MESSAGE = "ACL not found!\n" +
  "Either it has not been created, or can not be loaded.\n" +
  "Please create the ACL, or report the error if you know for sure that ACL exists for the store";
export const ACL_ERROR_MESSAGE = "Internal error occurred while checking ACL.\n" +
  "Please report this error to the Venice team.";

const INVALID_REQUEST = new GrpcStatusError(GrpcStatus.INVALID_ARGUMENT, "Invalid request");
const INVALID_CERTIFICATE = new GrpcStatusError(GrpcStatus.UNAUTHENTICATED, "Invalid certificate");
const ACCESS_DENIED = new GrpcStatusError(GrpcStatus.PERMISSION_DENIED, ACCESS_DENIED_MESSAGE);
const ACL_NOT_FOUND = new GrpcStatusError(GrpcStatus.PERMISSION_DENIED, ACL_NOT_FOUND_MESSAGE);
const ACL_ERROR = new GrpcStatusError(GrpcStatus.PERMISSION_DENIED, ACL_ERROR_MESSAGE);

/** What the read path needs to decide a call; build once per config, reuse per call. */
export class AuthPolicy {
  readonly authorizer: Authorizer;
  readonly principals: PrincipalCache;
  /** True for `auth.authorizer: none`: `authorizeCall` returns at once. */
  readonly open: boolean;

  constructor(authorizer: Authorizer, principalRule: PrincipalRule) {
    this.authorizer = authorizer;
    this.principals = new PrincipalCache(principalRule);
    this.open = authorizer instanceof AllowAllAuthorizer;
  }
}

/**
 * Decides one call. Returns undefined when allowed on the spot, throws the
 * GrpcStatusError to end the call with when denied on the spot, and returns a promise
 * (resolving when allowed, rejecting with the GrpcStatusError) only when the authorizer
 * has no cached answer yet. `storeName` is null when the resource name did not parse;
 * `requestMethod` is the request's `method` field ("GET" / "POST").
 */
export function authorizeCall(
  policy: AuthPolicy,
  certificate: Uint8Array | null,
  storeName: string | null,
  requestMethod: string,
  method: AuthMethod,
): undefined | Promise<void> {
  if (policy.open) return undefined;
  if (storeName === null || storeName === "" || requestMethod === "") throw INVALID_REQUEST;
  if (certificate === null) throw INVALID_CERTIFICATE;
  const principal = policy.principals.resolve(certificate);
  if (typeof principal !== "string") throw INVALID_CERTIFICATE;
  let answer: boolean | Promise<boolean>;
  try {
    answer = policy.authorizer.check(principal, storeName, method);
  } catch {
    throw ACL_ERROR;
  }
  if (answer === true) return undefined;
  if (answer === false) throw denial(policy.authorizer, storeName);
  return answer.then(
    (allowed) => {
      if (!allowed) throw denial(policy.authorizer, storeName);
    },
    () => {
      throw ACL_ERROR;
    },
  );
}

function denial(authorizer: Authorizer, storeName: string): GrpcStatusError {
  return authorizer.hasAcl === undefined || authorizer.hasAcl(storeName)
    ? ACCESS_DENIED
    : ACL_NOT_FOUND;
}
