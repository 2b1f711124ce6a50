// Test-only. Builds VeniceServerResponse messages with protobuf-java, field by field in the
// order Venice's gRPC server sets them (linkedin/venice 77ea837f47,
// services/venice-server/.../listener/grpc/: VeniceReadServiceImpl starts every builder
// with errorCode OK; then, in handlers/, GrpcStorageReadRequestHandler and
// GrpcReadQuotaEnforcementHandler set an error's code and message, then
// GrpcOutboundResponseHandler sets data and compression for an error, or compression,
// RCU, streaming, data and schema id for a value, or those and KEY_NOT_FOUND for a miss),
// and prints each one's bytes in hex: what the Java server puts on the wire.
//
// Input, one case a line, tab-separated:
//   name kind schemaId compressionStrategy responseRCU isStreaming errorCode messageHex dataHex
// where kind is found, notFound or error. Output: name TAB hex.
import com.google.protobuf.ByteString;
import com.linkedin.venice.protocols.VeniceServerResponse;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;

public final class VeniceWireResponses {
  private static final int OK = 200;
  private static final int KEY_NOT_FOUND = -420;

  public static void main(String[] args) throws Exception {
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    for (String line = in.readLine(); line != null; line = in.readLine()) {
      if (line.isEmpty()) continue;
      String[] f = line.split("\t", -1);
      String name = f[0];
      String kind = f[1];
      int schemaId = Integer.parseInt(f[2]);
      int compression = Integer.parseInt(f[3]);
      int rcu = Integer.parseInt(f[4]);
      boolean streaming = f[5].equals("1");
      int errorCode = Integer.parseInt(f[6]);
      String message = new String(unhex(f[7]), StandardCharsets.UTF_8);
      byte[] data = unhex(f[8]);

      VeniceServerResponse.Builder b = VeniceServerResponse.newBuilder().setErrorCode(OK);
      switch (kind) {
        case "error":
          b.setErrorCode(errorCode).setErrorMessage(message);
          b.setData(ByteString.EMPTY).setCompressionStrategy(0);
          break;
        case "found":
          b.setCompressionStrategy(compression);
          b.setResponseRCU(rcu);
          b.setIsStreamingResponse(streaming);
          b.setData(ByteString.copyFrom(data)).setCompressionStrategy(compression);
          b.setSchemaId(schemaId);
          break;
        case "notFound":
          b.setCompressionStrategy(compression);
          b.setResponseRCU(rcu);
          b.setIsStreamingResponse(streaming);
          b.setData(ByteString.EMPTY);
          b.setErrorCode(KEY_NOT_FOUND);
          b.setErrorMessage("Key not found");
          break;
        default:
          throw new IllegalArgumentException("unknown kind " + kind);
      }
      System.out.println(name + "\t" + hex(b.build().toByteArray()));
    }
  }

  private static byte[] unhex(String s) {
    byte[] out = new byte[s.length() / 2];
    for (int i = 0; i < out.length; i++) {
      out[i] = (byte) Integer.parseInt(s.substring(2 * i, 2 * i + 2), 16);
    }
    return out;
  }

  private static String hex(byte[] bytes) {
    StringBuilder sb = new StringBuilder();
    for (byte b : bytes) sb.append(String.format("%02x", b & 0xff));
    return sb.toString();
  }
}
