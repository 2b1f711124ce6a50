/** The gRPC paths of VeniceReadService and the handlers behind them. */
import {
  GrpcStatus,
  GrpcStatusError,
  type UnaryHandler,
  type UnaryRouter,
} from "../transport/types.ts";

const SERVICE = "/com.linkedin.venice.protocols.VeniceReadService";

export const READ_SERVICE_PATHS = {
  get: `${SERVICE}/get`,
  batchGet: `${SERVICE}/batchGet`,
  countByValue: `${SERVICE}/countByValue`,
} as const;

/** Venice's Java server leaves countByValue unimplemented; so does Rialto, saying so. */
const countByValue: UnaryHandler = () => {
  throw new GrpcStatusError(
    GrpcStatus.UNIMPLEMENTED,
    "countByValue is not implemented by this server",
  );
};

/** Routes both read RPCs to one handler, as VeniceReadServiceImpl does. */
export function readServiceRouter(read: UnaryHandler): UnaryRouter {
  const routes = new Map<string, UnaryHandler>([
    [READ_SERVICE_PATHS.get, read],
    [READ_SERVICE_PATHS.batchGet, read],
    [READ_SERVICE_PATHS.countByValue, countByValue],
  ]);
  return { route: (path) => routes.get(path) };
}
