// Test-only. A Venice Fast Client in miniature, to read from a Rialto tier the way an
// unchanged Fast Client would: it bootstraps over HTTP as RequestBasedMetadata does
// (linkedin/venice 77ea837f47, clients/venice-client/.../fastclient/meta/
// RequestBasedMetadata.java), refreshes that metadata in the background, and reads every
// key in rounds over gRPC as GrpcTransportClient sends its requests (single gets with a
// `<base64url>?f=b64` keyString and method GET; batch gets with MultiGetRouterRequestKeyV1
// records and method POST), checking each value against what the test says the version
// it read must hold.
//
//   TierClient --bootstrap http://127.0.0.1:PORT --store NAME --keys FILE
//              --grpc-map host:httpPort=host:grpcPort,... [--refresh-ms 500] [--round-ms 100]
//              [--multiget-request-schema FILE --multiget-response-schema FILE]
//
// --keys: one key a line, `key TAB name TAB version [TAB name TAB version]...`: the `name`
// field the key's value has in each version; a name of "-", or a version not listed, means
// the key must be missing there. Keys are Avro-encoded with the key schema from the
// metadata: a "string" schema takes the text as is, any other reads it as Avro JSON.
//
// stdout, one JSON object a line: {"event":"metadata",...} after the bootstrap and after
// every refresh that changed what it reports, {"event":"round",...} after every round, and
// {"event":"summary",...} once stdin reaches its end (the round under way finishes first);
// then the exit code is 0. Details of every failure go to stderr.
//
// Hidden, for testing without the HTTP endpoints: --direct-routing host:port[,host:port...]
// with --direct-partitions P [--direct-version N] [--direct-compression C]
// [--direct-key-schema JSON] --direct-value-schema-file FILE [--direct-value-schema-id N]
// [--direct-dictionary FILE] [--direct-batch-get-limit L] skips the bootstrap and routes every partition to those gRPC
// addresses (replica URLs http://host:port, mapped to themselves unless --grpc-map says
// otherwise).
import com.github.luben.zstd.ZstdInputStreamNoFinalizer;
import com.google.protobuf.ByteString;
import com.linkedin.venice.protocols.VeniceClientRequest;
import com.linkedin.venice.protocols.VeniceReadServiceGrpc;
import com.linkedin.venice.protocols.VeniceServerResponse;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.zip.GZIPInputStream;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.util.Utf8;
import org.codehaus.jackson.JsonNode;
import org.codehaus.jackson.map.ObjectMapper;

public final class TierClient {
  /** Where RequestBasedMetadata finds the schemas of its own metadata record. */
  static final String METADATA_SYSTEM_STORE = "venice_system_store_SERVER_METADATA_RESPONSE";
  /** The only partitioner this client implements (PartitionerConfigImpl's default). */
  static final String DEFAULT_PARTITIONER = "com.linkedin.venice.partitioner.DefaultVenicePartitioner";
  /** VeniceReadResponseStatus. */
  static final int OK = 200;
  static final int KEY_NOT_FOUND = -420;
  /** StreamingConstants.NON_EXISTING_KEY_SCHEMA_ID, a streaming batch get's "missing". */
  static final int NON_EXISTING_KEY_SCHEMA_ID = -1000;
  /** MetadataResponseRecord's batchGetLimit default, for a writer schema older than v2. */
  static final int DEFAULT_BATCH_GET_LIMIT = 150;
  static final int NO_OP = 0;
  static final int GZIP = 1;
  static final int ZSTD = 2;
  static final int ZSTD_WITH_DICT = 3;

  /** The client's own limits; Venice's values where it has one. */
  static final Duration GRPC_DEADLINE = Duration.ofSeconds(2);
  /** D2ServiceDiscovery.find: 10 tries, 1 s each, 100 ms apart. */
  static final int DISCOVERY_ATTEMPTS = 10;
  static final Duration DISCOVERY_TIMEOUT = Duration.ofSeconds(1);
  static final long DISCOVERY_PAUSE_MS = 100;
  /** RouterBackedSchemaReader's schema fetch timeout. */
  static final Duration SCHEMA_TIMEOUT = Duration.ofSeconds(1);
  /** RBM has none of its own for /metadata (it relies on R2's); this stands in for it. */
  static final Duration METADATA_TIMEOUT = Duration.ofSeconds(5);
  /** RBM's ZSTD_DICT_FETCH_TIMEOUT_IN_SECONDS. */
  static final Duration DICTIONARY_TIMEOUT = Duration.ofSeconds(10);
  /** RBM's connection warm-up timeout. */
  static final Duration WARMUP_TIMEOUT = Duration.ofSeconds(20);
  /** How long the first bootstrap may keep failing, and how often it is tried. */
  static final long BOOTSTRAP_DEADLINE_MS = 30_000;
  static final long BOOTSTRAP_PAUSE_MS = 200;
  static final int READ_THREADS = 16;

  public static void main(String[] args) {
    Options options;
    try {
      options = Options.parse(args);
    } catch (IllegalArgumentException e) {
      System.err.println("TierClient: " + e.getMessage());
      System.err.println(Options.USAGE);
      System.exit(2);
      return;
    }
    int code;
    try {
      code = new TierClient(options).run();
    } catch (Exception e) {
      log("fatal: " + describe(e));
      e.printStackTrace();
      code = 1;
    }
    System.out.flush();
    System.exit(code);
  }

  final Options options;
  final Stats stats = new Stats();

  TierClient(Options options) {
    this.options = options;
  }

  int run() throws Exception {
    List<KeyCase> keys = KeyCase.read(options.keys);
    Schema requestSchema = parseSchema(Files.readString(options.multigetRequestSchema));
    Schema responseSchema = parseSchema(Files.readString(options.multigetResponseSchema));
    Reader reader = new Reader(options.store, options.grpcMap, requestSchema, responseSchema, keys, stats);
    ScheduledExecutorService refresher = null;
    Metadata metadata = null;
    View direct = null;
    try {
      if (options.directRouting != null) {
        direct = directView(keys);
        emit(direct.event(List.of(direct.version), -1, 0, 0));
      } else {
        metadata = new Metadata(new Http(options.bootstrap), options.store, keys);
        if (!bootstrap(metadata)) return 1;
        Metadata m = metadata;
        refresher = Executors.newSingleThreadScheduledExecutor(daemon("metadata-refresh"));
        refresher.scheduleWithFixedDelay(() -> refreshOnce(m), options.refreshMs, options.refreshMs,
            TimeUnit.MILLISECONDS);
      }
      StdinWatch stdin = StdinWatch.start();
      while (!stdin.closed()) {
        long started = System.nanoTime();
        View view = direct != null ? direct : metadata.view();
        round(reader, view);
        long leftMs = options.roundMs - (System.nanoTime() - started) / 1_000_000;
        if (leftMs > 0) stdin.awaitClose(leftMs);
      }
    } finally {
      if (refresher != null) refresher.shutdownNow();
    }
    emit(stats.summary());
    reader.close();
    return 0;
  }

  /** The first refresh; failures are retried for 30 s (RBM's start() waits for ever). */
  boolean bootstrap(Metadata metadata) throws InterruptedException {
    long deadline = System.currentTimeMillis() + BOOTSTRAP_DEADLINE_MS;
    String lastLogged = null;
    while (true) {
      try {
        emit(metadata.refresh());
        stats.refreshes.incrementAndGet();
        return true;
      } catch (RefreshException e) {
        String message = describe(e);
        if (e.forbidden) {
          // RBM.start() turns a 403 into a ConfigurationException: no retry.
          log("bootstrap failed for good (403, as the Fast Client's ConfigurationException): " + message);
          return false;
        }
        if (System.currentTimeMillis() > deadline) {
          log("bootstrap failed for " + BOOTSTRAP_DEADLINE_MS / 1000 + " s, giving up: " + message);
          return false;
        }
        if (!message.equals(lastLogged)) log("bootstrap failed, retrying every " + BOOTSTRAP_PAUSE_MS + " ms: " + message);
        lastLogged = message;
      }
      Thread.sleep(BOOTSTRAP_PAUSE_MS);
    }
  }

  void refreshOnce(Metadata metadata) {
    try {
      Map<String, Object> event = metadata.refresh();
      stats.refreshes.incrementAndGet();
      if (event != null) emit(event);
    } catch (Exception | Error e) {
      // The last good metadata stays in force, as in RBM.
      stats.refreshFailures.incrementAndGet();
      String message = "metadata refresh failed, keeping the last metadata: " + describe(e);
      stats.error(message);
      log(message);
      if (!(e instanceof RefreshException)) e.printStackTrace();
    }
  }

  void round(Reader reader, View view) throws InterruptedException {
    Counts single = new Counts();
    Counts batch = new Counts();
    AtomicLong retries = new AtomicLong();
    RoundErrors errors = new RoundErrors();
    reader.singleRound(view, single, retries, errors);
    reader.batchRound(view, batch, retries, errors);
    int number = stats.rounds.incrementAndGet();
    stats.add(view.version, single, batch, retries.get());
    Map<String, Object> event = new LinkedHashMap<>();
    event.put("event", "round");
    event.put("round", number);
    event.put("version", view.version);
    event.put("single", single.json());
    event.put("batch", batch.json());
    event.put("retries", retries.get());
    emit(event);
    String first = errors.first.get();
    if (first != null) {
      stats.error(first);
      log("round " + number + " (version " + view.version + "): " + errors.count.get()
          + " reads not ok; first: " + first);
    }
  }

  View directView(List<KeyCase> keys) throws IOException {
    Options o = options;
    if (o.directPartitions <= 0) throw new IllegalArgumentException("--direct-routing needs --direct-partitions");
    if (o.directValueSchemaFile == null) {
      throw new IllegalArgumentException("--direct-routing needs --direct-value-schema-file");
    }
    List<String> replicas = new ArrayList<>();
    for (String address : o.directRouting) {
      replicas.add("http://" + address);
      o.grpcMap.putIfAbsent(address, address);
    }
    Map<Integer, List<String>> routing = new HashMap<>();
    for (int p = 0; p < o.directPartitions; p++) routing.put(p, replicas);
    byte[] dictionary = o.directDictionary == null ? null : Files.readAllBytes(o.directDictionary);
    if (o.directCompression == ZSTD_WITH_DICT && dictionary == null) {
      throw new IllegalArgumentException("--direct-compression 3 needs --direct-dictionary");
    }
    Map<Integer, Schema> values = Map.of(o.directValueSchemaId,
        parseSchema(Files.readString(o.directValueSchemaFile)));
    return new View(o.store, o.directVersion, o.directPartitions, o.directCompression, routing, dictionary,
        parseSchema(o.directKeySchema), values, o.directBatchGetLimit, keys);
  }

  // ---------------------------------------------------------------------------------------
  // Metadata: RequestBasedMetadata's bootstrap and refresh.

  /** A refresh that failed; `forbidden` when /metadata answered 403 (fatal at start). */
  static final class RefreshException extends Exception {
    final boolean forbidden;

    RefreshException(String message) {
      this(message, null, false);
    }

    RefreshException(String message, Throwable cause, boolean forbidden) {
      super(message, cause);
      this.forbidden = forbidden;
    }
  }

  /** A /metadata fetch that failed at the transport or with a non-2xx status. */
  static final class MetadataHttpException extends Exception {
    final int status;

    MetadataHttpException(String message, int status, Throwable cause) {
      super(message, cause);
      this.status = status;
    }
  }

  /** One version's properties and routing, kept per version as RBM keeps them. */
  static final class VersionInfo {
    final int partitionCount;
    final int compression;
    /** Partition -> ready replicas; RBM only ever replaces a list with a non-empty one. */
    final Map<Integer, List<String>> routing = new HashMap<>();

    VersionInfo(int partitionCount, int compression) {
      this.partitionCount = partitionCount;
      this.compression = compression;
    }
  }

  /** The fields of one decoded MetadataResponseRecord this client uses. */
  static final class Fetched {
    int schemaId;
    int currentVersion;
    int compression;
    int partitionCount;
    List<Integer> versions;
    Schema keySchema;
    Map<Integer, Schema> valueSchemas;
    Map<Integer, List<String>> routing;
    int batchGetLimit;
  }

  static final class Metadata {
    final Http http;
    final String store;
    final List<KeyCase> keys;
    final ObjectMapper json = new ObjectMapper();
    boolean storeDiscovered;
    boolean systemStoreDiscovered;
    /** RouterBackedSchemaReader's cache: only schemas it found are kept. */
    final Map<Integer, Schema> metadataSchemas = new HashMap<>();
    /** 0 until the first success, which therefore always switches (0 is never active). */
    int currentVersion;
    final Map<Integer, VersionInfo> versions = new HashMap<>();
    final Map<Integer, byte[]> dictionaries = new HashMap<>();
    /** Replicas whose warm-up succeeded; RBM does not warm them up again. */
    final Set<String> warmedUp = new HashSet<>();
    List<Integer> activeVersions = List.of();
    Schema keySchema;
    Map<Integer, Schema> valueSchemas = Map.of();
    int batchGetLimit = DEFAULT_BATCH_GET_LIMIT;
    int schemaId = -1;
    String lastReported;
    volatile View view;

    Metadata(Http http, String store, List<KeyCase> keys) {
      this.http = http;
      this.store = store;
      this.keys = keys;
    }

    View view() {
      return view;
    }

    /**
     * One refresh (RBM.updateCache(false)); the metadata event when what it reports
     * changed, else null. On failure nothing changes.
     */
    synchronized Map<String, Object> refresh() throws RefreshException, InterruptedException {
      if (!storeDiscovered) {
        discover(store);
        storeDiscovered = true;
      }
      Fetched fetched = updateCache(false);
      byte[] dictionary = dictionaries.get(fetched.currentVersion);
      if (dictionary == null && fetched.compression == ZSTD_WITH_DICT) {
        dictionary = fetchDictionary(fetched.currentVersion);
      }

      // Only now, with everything fetched, does anything change.
      VersionInfo info = versions.get(fetched.currentVersion);
      if (info == null || info.partitionCount != fetched.partitionCount || info.compression != fetched.compression) {
        VersionInfo next = new VersionInfo(fetched.partitionCount, fetched.compression);
        if (info != null) next.routing.putAll(info.routing);
        info = next;
        versions.put(fetched.currentVersion, info);
      }
      for (int p = 0; p < fetched.partitionCount; p++) {
        List<String> replicas = fetched.routing.get(p);
        if (!replicas.isEmpty()) info.routing.put(p, replicas);
      }
      if (dictionary != null) dictionaries.put(fetched.currentVersion, dictionary);
      keySchema = fetched.keySchema;
      valueSchemas = fetched.valueSchemas;
      batchGetLimit = fetched.batchGetLimit;
      schemaId = fetched.schemaId;

      int[] health = warmUp(info);

      Set<Integer> active = new HashSet<>(fetched.versions);
      versions.keySet().retainAll(active);
      dictionaries.keySet().retainAll(active);
      activeVersions = new ArrayList<>(new TreeSet<>(fetched.versions));
      if (shouldSwitch(active, fetched)) {
        if (currentVersion != 0) log("switching from version " + currentVersion + " to " + fetched.currentVersion);
        currentVersion = fetched.currentVersion;
      } else if (currentVersion != fetched.currentVersion) {
        log("staying on version " + currentVersion + ": version " + fetched.currentVersion
            + " has partitions without ready replicas");
      }
      VersionInfo current = versions.get(currentVersion);
      view = new View(store, currentVersion, current.partitionCount, current.compression, current.routing,
          dictionaries.get(currentVersion), keySchema, valueSchemas, batchGetLimit, keys);
      Map<String, Object> event = view.event(activeVersions, schemaId, health[0], health[1]);
      Map<String, Object> compared = new LinkedHashMap<>(event);
      compared.remove("healthOk");
      compared.remove("healthFailed");
      String reported = Json.write(compared);
      if (reported.equals(lastReported)) return null;
      lastReported = reported;
      return event;
    }

    /** RBM.whetherToSwitchToFetchedCurrentVersion. */
    boolean shouldSwitch(Set<Integer> active, Fetched fetched) {
      if (fetched.currentVersion == currentVersion) return false;
      boolean ready = fetched.partitionCount > 0 && fetched.routing.size() == fetched.partitionCount;
      for (int p = 0; ready && p < fetched.partitionCount; p++) {
        List<String> replicas = fetched.routing.get(p);
        ready = replicas != null && !replicas.isEmpty();
      }
      return !active.contains(currentVersion) || ready;
    }

    /** Fetch and decode /metadata; a transport or status failure re-discovers and retries once. */
    Fetched updateCache(boolean onDemand) throws RefreshException, InterruptedException {
      HttpResponse<byte[]> response;
      try {
        response = fetchMetadata();
      } catch (MetadataHttpException e) {
        if (!onDemand) {
          log("GET /metadata/" + store + " failed, discovering the cluster again and retrying once: "
              + describe(e));
          storeDiscovered = false;
          discover(store);
          storeDiscovered = true;
          return updateCache(true);
        }
        throw new RefreshException("Metadata fetch operation for store: " + store + " retry failed", e,
            e.status == 403);
      }
      int id = response.headers().firstValue("X-VENICE-SCHEMA-ID").map(Integer::parseInt).orElse(-1);
      Schema writer = metadataSchema(id);
      GenericRecord record;
      try {
        record = (GenericRecord) new OrderedDatumReader(writer)
            .read(null, DecoderFactory.get().binaryDecoder(response.body(), null));
      } catch (IOException | RuntimeException e) {
        throw new RefreshException("Cannot decode the /metadata/" + store + " body (" + response.body().length
            + " bytes) with MetadataResponseRecord schema " + id + ": " + describe(e), e, false);
      }
      try {
        Fetched fetched = convert(record);
        fetched.schemaId = id;
        return fetched;
      } catch (RuntimeException e) {
        throw new RefreshException("Unusable MetadataResponseRecord for store " + store + ": " + describe(e), e,
            false);
      }
    }

    HttpResponse<byte[]> fetchMetadata() throws MetadataHttpException, RefreshException, InterruptedException {
      String path = "/metadata/" + store;
      HttpResponse<byte[]> response;
      try {
        response = http.get(path, METADATA_TIMEOUT, false);
      } catch (IOException e) {
        throw new MetadataHttpException("GET " + path + ": " + describe(e), -1, e);
      }
      if (response.statusCode() == 404) {
        // The transport reads a 404 as "no response", which RBM then dereferences: a
        // NullPointerException, logged and retried, with no re-discovery.
        throw new RefreshException("GET " + path + " answered 404: " + text(response));
      }
      if (response.statusCode() / 100 != 2) {
        throw new MetadataHttpException("GET " + path + " answered " + response.statusCode() + ": " + text(response),
            response.statusCode(), null);
      }
      return response;
    }

    /** RouterBackedSchemaReader.getValueSchema on the metadata system store. */
    Schema metadataSchema(int id) throws RefreshException, InterruptedException {
      Schema known = metadataSchemas.get(id);
      if (known != null) return known;
      if (!systemStoreDiscovered) {
        discover(METADATA_SYSTEM_STORE);
        systemStoreDiscovered = true;
      }
      String path = "/value_schema/" + METADATA_SYSTEM_STORE + "/" + id;
      HttpResponse<byte[]> response;
      try {
        response = http.get(path, SCHEMA_TIMEOUT, false);
      } catch (IOException e) {
        throw new RefreshException("GET " + path + ": " + describe(e), e, false);
      }
      if (response.statusCode() != 200) {
        throw new RefreshException("GET " + path + " answered " + response.statusCode() + ": " + text(response));
      }
      JsonNode body = parseJson(path, response);
      String error = textField(body, "error");
      String schemaStr = textField(body, "schemaStr");
      if (error != null || schemaStr == null) {
        throw new RefreshException("GET " + path + " gave no schema: error " + Json.quote(error) + ", schemaStr "
            + Json.quote(schemaStr));
      }
      Schema schema;
      try {
        schema = parseSchema(schemaStr);
      } catch (RuntimeException e) {
        throw new RefreshException("GET " + path + ": unparsable schemaStr: " + describe(e), e, false);
      }
      metadataSchemas.put(id, schema);
      return schema;
    }

    /** D2ServiceDiscovery.find against the router (--bootstrap stands for it too). */
    String discover(String storeName) throws RefreshException, InterruptedException {
      String path = "/discover_cluster/" + storeName;
      String last = "no attempt";
      for (int attempt = 0; attempt < DISCOVERY_ATTEMPTS; attempt++) {
        if (attempt > 0) Thread.sleep(DISCOVERY_PAUSE_MS);
        HttpResponse<byte[]> response;
        try {
          response = http.get(path, DISCOVERY_TIMEOUT, true);
        } catch (IOException e) {
          last = describe(e);
          continue;
        }
        if (response.statusCode() == 404) {
          throw new RefreshException("Cluster discovery: store " + storeName + " not found (GET " + path
              + " answered 404: " + text(response) + ")");
        }
        if (response.statusCode() != 200) {
          last = "answered " + response.statusCode() + ": " + text(response);
          continue;
        }
        JsonNode body = parseJson(path, response);
        String error = textField(body, "error");
        if (error != null) throw new RefreshException("Cluster discovery for " + storeName + " failed: " + error);
        String cluster = textField(body, "cluster");
        if (cluster == null) throw new RefreshException("GET " + path + " named no cluster: " + text(response));
        return cluster;
      }
      throw new RefreshException("Cluster discovery for " + storeName + " failed after " + DISCOVERY_ATTEMPTS
          + " attempts; last: GET " + path + " " + last);
    }

    byte[] fetchDictionary(int version) throws RefreshException, InterruptedException {
      String path = "/dictionary/" + store + "/" + version;
      HttpResponse<byte[]> response;
      try {
        response = http.get(path, DICTIONARY_TIMEOUT, false);
      } catch (IOException e) {
        throw new RefreshException("GET " + path + ": " + describe(e), e, false);
      }
      if (response.statusCode() != 200) {
        // A 404 too: RBM never completes its dictionary future then, and times out.
        throw new RefreshException("GET " + path + " answered " + response.statusCode() + ": " + text(response));
      }
      return response.body();
    }

    /**
     * GET <replica>/health for the version's replicas not yet warmed up; failures are only
     * logged. Returns {ok, failed} for this refresh.
     */
    int[] warmUp(VersionInfo info) throws InterruptedException {
      Set<String> replicas = new TreeSet<>();
      for (int p = 0; p < info.partitionCount; p++) replicas.addAll(info.routing.getOrDefault(p, List.of()));
      warmedUp.retainAll(replicas);
      Map<String, CompletableFuture<HttpResponse<byte[]>>> calls = new LinkedHashMap<>();
      for (String replica : replicas) {
        if (!warmedUp.contains(replica)) calls.put(replica, http.getAsync(replica + "/health", WARMUP_TIMEOUT));
      }
      int ok = 0;
      int failed = 0;
      for (Map.Entry<String, CompletableFuture<HttpResponse<byte[]>>> call : calls.entrySet()) {
        String url = call.getKey() + "/health";
        try {
          HttpResponse<byte[]> response = call.getValue().get(WARMUP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
          String body = text(response);
          if (response.statusCode() == 200 && body.equals("OK")) {
            ok++;
            warmedUp.add(call.getKey());
          } else {
            failed++;
            log("warm-up GET " + url + " answered " + response.statusCode() + ": " + body);
          }
        } catch (ExecutionException | TimeoutException | RuntimeException e) {
          failed++;
          call.getValue().cancel(true);
          log("warm-up GET " + url + " failed: " + describe(e));
        }
      }
      return new int[] {ok, failed};
    }

    /** The record's fields, dereferenced where RBM does (it would throw where this does). */
    Fetched convert(GenericRecord record) {
      Fetched f = new Fetched();
      GenericRecord version = (GenericRecord) required(record, "versionMetadata");
      f.currentVersion = (Integer) required(version, "currentVersion");
      f.compression = (Integer) required(version, "compressionStrategy");
      f.partitionCount = (Integer) required(version, "partitionCount");
      String partitioner = required(version, "partitionerClass").toString();
      required(version, "partitionerParams");
      if (!partitioner.equals(DEFAULT_PARTITIONER)) {
        throw new IllegalStateException("partitioner " + Json.quote(partitioner) + " is not supported (only "
            + DEFAULT_PARTITIONER + ")");
      }
      if (f.compression < NO_OP || f.compression > ZSTD_WITH_DICT) {
        throw new IllegalStateException("unknown compressionStrategy " + f.compression);
      }
      if (f.partitionCount <= 0) throw new IllegalStateException("partitionCount " + f.partitionCount);
      f.versions = new ArrayList<>();
      for (Object v : (Collection<?>) required(record, "versions")) f.versions.add((Integer) v);

      f.routing = new HashMap<>();
      for (Map.Entry<?, ?> e : ((Map<?, ?>) required(record, "routingInfo")).entrySet()) {
        List<String> replicas = new ArrayList<>();
        for (Object r : (Collection<?>) e.getValue()) replicas.add(r.toString());
        f.routing.put(Integer.valueOf(e.getKey().toString()), List.copyOf(replicas));
      }
      for (int p = 0; p < f.partitionCount; p++) {
        if (!f.routing.containsKey(p)) {
          throw new IllegalStateException("routingInfo has no partition " + p + " of " + f.partitionCount
              + " for version " + f.currentVersion + " (RequestBasedMetadata fails on it with a NullPointerException)");
        }
      }

      Map.Entry<?, ?> lastKeySchema = null;
      for (Map.Entry<?, ?> e : ((Map<?, ?>) required(record, "keySchema")).entrySet()) lastKeySchema = e;
      if (lastKeySchema != null) {
        Integer.parseInt(lastKeySchema.getKey().toString());
        f.keySchema = parseSchema(lastKeySchema.getValue().toString());
      }
      f.valueSchemas = new HashMap<>();
      for (Map.Entry<?, ?> e : ((Map<?, ?>) required(record, "valueSchemas")).entrySet()) {
        f.valueSchemas.put(Integer.parseInt(e.getKey().toString()), parseSchema(e.getValue().toString()));
      }
      required(record, "helixGroupInfo");
      required(record, "latestSuperSetValueSchemaId");
      Object limit = field(record, "batchGetLimit");
      f.batchGetLimit = limit == null ? DEFAULT_BATCH_GET_LIMIT : (Integer) limit;
      return f;
    }

    JsonNode parseJson(String path, HttpResponse<byte[]> response) throws RefreshException {
      try {
        JsonNode node = json.readTree(new String(response.body(), StandardCharsets.UTF_8));
        if (node == null || !node.isObject()) throw new IOException("not a JSON object");
        return node;
      } catch (IOException e) {
        throw new RefreshException("GET " + path + ": not JSON (" + describe(e) + "): " + text(response), e, false);
      }
    }
  }

  /** An Avro reader whose maps keep the order they had on the wire ("the last entry" is RBM's key schema). */
  static final class OrderedDatumReader extends GenericDatumReader<Object> {
    OrderedDatumReader(Schema schema) {
      super(schema);
    }

    @Override
    protected Object newMap(Object old, int size) {
      return new LinkedHashMap<Object, Object>();
    }
  }

  static Object field(GenericRecord record, String name) {
    return record.getSchema().getField(name) == null ? null : record.get(name);
  }

  static Object required(GenericRecord record, String name) {
    Object value = field(record, name);
    if (value == null) {
      throw new IllegalStateException(record.getSchema().getName() + "." + name
          + " is null or absent (RequestBasedMetadata dereferences it)");
    }
    return value;
  }

  static String textField(JsonNode node, String name) {
    JsonNode value = node.get(name);
    return value == null || value.isNull() ? null : value.asText();
  }

  // ---------------------------------------------------------------------------------------
  // What the reads use: one version's routing and codecs, fixed for a round.

  static final class View {
    final int version;
    final String resource;
    final int partitionCount;
    final int compression;
    final List<List<String>> replicas = new ArrayList<>();
    final byte[] dictionary;
    final Map<Integer, Schema> valueSchemas;
    final Map<Integer, GenericDatumReader<Object>> valueReaders = new HashMap<>();
    final int batchGetLimit;
    /** Per key (in --keys order): its Avro bytes and partition, or why it has none. */
    final byte[][] keyBytes;
    final int[] partitions;
    final String[] keyErrors;

    View(String store, int version, int partitionCount, int compression, Map<Integer, List<String>> routing,
        byte[] dictionary, Schema keySchema, Map<Integer, Schema> valueSchemas, int batchGetLimit,
        List<KeyCase> keys) {
      this.version = version;
      this.resource = store + "_v" + version;
      this.partitionCount = partitionCount;
      this.compression = compression;
      for (int p = 0; p < partitionCount; p++) replicas.add(List.copyOf(routing.getOrDefault(p, List.of())));
      this.dictionary = dictionary;
      this.valueSchemas = Map.copyOf(valueSchemas);
      for (Map.Entry<Integer, Schema> e : valueSchemas.entrySet()) {
        valueReaders.put(e.getKey(), new GenericDatumReader<>(e.getValue()));
      }
      this.batchGetLimit = Math.max(1, batchGetLimit);
      keyBytes = new byte[keys.size()][];
      partitions = new int[keys.size()];
      keyErrors = new String[keys.size()];
      for (int i = 0; i < keys.size(); i++) {
        if (keySchema == null) {
          keyErrors[i] = "the metadata has no key schema";
          continue;
        }
        try {
          keyBytes[i] = encodeKey(keySchema, keys.get(i).key);
          partitions[i] = defaultVenicePartition(keyBytes[i], partitionCount);
        } catch (IOException | RuntimeException e) {
          keyErrors[i] = "cannot encode key " + Json.quote(keys.get(i).key) + " with the key schema: " + describe(e);
        }
      }
    }

    Map<String, Object> event(List<Integer> versions, int schemaId, int healthOk, int healthFailed) {
      Map<String, Object> routing = new LinkedHashMap<>();
      for (int p = 0; p < partitionCount; p++) routing.put(String.valueOf(p), replicas.get(p));
      Map<String, Object> event = new LinkedHashMap<>();
      event.put("event", "metadata");
      event.put("version", version);
      event.put("versions", versions);
      event.put("partitionCount", partitionCount);
      event.put("compressionStrategy", compression);
      event.put("replicas", routing);
      event.put("batchGetLimit", batchGetLimit);
      event.put("schemaId", schemaId);
      event.put("dictionaryBytes", dictionary == null ? null : dictionary.length);
      event.put("healthOk", healthOk);
      event.put("healthFailed", healthFailed);
      return event;
    }

    /** The `name` field of a value as a response carries it. */
    String decodeName(int strategy, int schemaId, byte[] data) throws ReadFailure {
      GenericDatumReader<Object> reader = valueReaders.get(schemaId);
      if (reader == null) throw new ReadFailure("value schema " + schemaId + " is not in the metadata");
      Object value;
      try {
        value = reader.read(null, DecoderFactory.get().binaryDecoder(decompress(strategy, data), null));
      } catch (IOException | RuntimeException e) {
        throw new ReadFailure("cannot decode a value with schema " + schemaId + " (compression " + strategy + "): "
            + describe(e));
      }
      if (!(value instanceof GenericRecord) || ((GenericRecord) value).getSchema().getField("name") == null) {
        return "<a value without a name field: " + value + ">";
      }
      Object name = ((GenericRecord) value).get("name");
      return name == null ? null : name.toString();
    }

    byte[] decompress(int strategy, byte[] data) throws IOException {
      switch (strategy) {
        case NO_OP:
          return data;
        case GZIP:
          try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(data))) {
            return in.readAllBytes();
          }
        case ZSTD:
          try (InputStream in = new ZstdInputStreamNoFinalizer(new ByteArrayInputStream(data))) {
            return in.readAllBytes();
          }
        case ZSTD_WITH_DICT:
          if (dictionary == null) throw new IOException("ZSTD_WITH_DICT but no dictionary for " + resource);
          try (ZstdInputStreamNoFinalizer in = new ZstdInputStreamNoFinalizer(new ByteArrayInputStream(data))) {
            in.setDict(dictionary);
            return in.readAllBytes();
          }
        default:
          throw new IOException("unknown compression strategy " + strategy);
      }
    }
  }

  // ---------------------------------------------------------------------------------------
  // Reads over gRPC, as GrpcTransportClient sends them.

  /** One attempt at one replica that got no usable answer. */
  static final class ReadFailure extends Exception {
    ReadFailure(String message) {
      super(message);
    }
  }

  static final class Reader {
    final String store;
    final Map<String, String> grpcMap;
    final Schema requestSchema;
    final Schema responseSchema;
    final List<KeyCase> keys;
    final Stats stats;
    final Map<String, ManagedChannel> channels = new ConcurrentHashMap<>();
    final ExecutorService pool = Executors.newFixedThreadPool(READ_THREADS, daemon("read"));
    final AtomicInteger rotation = new AtomicInteger();

    Reader(String store, Map<String, String> grpcMap, Schema requestSchema, Schema responseSchema,
        List<KeyCase> keys, Stats stats) {
      this.store = store;
      this.grpcMap = grpcMap;
      this.requestSchema = requestSchema;
      this.responseSchema = responseSchema;
      this.keys = keys;
      this.stats = stats;
    }

    void singleRound(View view, Counts counts, AtomicLong retries, RoundErrors errors) throws InterruptedException {
      List<Future<?>> tasks = new ArrayList<>();
      for (int i = 0; i < keys.size(); i++) {
        int key = i;
        tasks.add(pool.submit(() -> single(view, key, counts, retries, errors)));
      }
      awaitAll(tasks);
    }

    void single(View view, int key, Counts counts, AtomicLong retries, RoundErrors errors) {
      String where = "single get of " + Json.quote(keys.get(key).key) + " in " + view.resource;
      if (view.keyErrors[key] != null) {
        counts.failed.incrementAndGet();
        errors.add(where + ": " + view.keyErrors[key]);
        return;
      }
      List<String> replicas = view.replicas.get(view.partitions[key]);
      if (replicas.isEmpty()) {
        counts.failed.incrementAndGet();
        errors.add(where + ": partition " + view.partitions[key] + " has no replica");
        return;
      }
      int start = Math.floorMod(rotation.getAndIncrement(), replicas.size());
      String last = null;
      for (int attempt = 0; attempt < replicas.size(); attempt++) {
        String replica = replicas.get((start + attempt) % replicas.size());
        if (attempt > 0) retries.incrementAndGet();
        try {
          Found found = getOnce(view, key, replica);
          judge(view, key, found, counts, errors, where + " from " + replica);
          return;
        } catch (ReadFailure e) {
          last = replica + ": " + e.getMessage();
        }
      }
      counts.failed.incrementAndGet();
      errors.add(where + " failed on every replica; last " + last);
    }

    Found getOnce(View view, int key, String replica) throws ReadFailure {
      VeniceClientRequest request = VeniceClientRequest.newBuilder()
          .setResourceName(view.resource)
          .setIsBatchRequest(false)
          .setMethod("GET")
          .setKeyString(Base64.getUrlEncoder().encodeToString(view.keyBytes[key]) + "?f=b64")
          .setPartition(view.partitions[key])
          .build();
      VeniceServerResponse response;
      try {
        response = VeniceReadServiceGrpc.newBlockingStub(channel(replica))
            .withDeadlineAfter(GRPC_DEADLINE.toMillis(), TimeUnit.MILLISECONDS)
            .get(request);
      } catch (StatusRuntimeException e) {
        throw new ReadFailure("gRPC " + e.getStatus().getCode() + ": " + e.getStatus().getDescription());
      }
      if (response.getErrorCode() == KEY_NOT_FOUND) return Found.MISSING;
      if (response.getErrorCode() != OK) {
        throw new ReadFailure("errorCode " + response.getErrorCode() + ": " + response.getErrorMessage());
      }
      return new Found(view.decodeName(response.getCompressionStrategy(), response.getSchemaId(),
          response.getData().toByteArray()));
    }

    /**
     * Batch gets: keys grouped by the replica chosen for their partition, at most
     * batchGetLimit a request; the keys of a request that fails go to their partitions'
     * next replicas, until each has tried all of them.
     */
    void batchRound(View view, Counts counts, AtomicLong retries, RoundErrors errors) throws InterruptedException {
      int[] start = new int[keys.size()];
      String[] last = new String[keys.size()];
      List<Integer> pending = new ArrayList<>();
      for (int i = 0; i < keys.size(); i++) {
        String where = "batch get of " + Json.quote(keys.get(i).key) + " in " + view.resource;
        if (view.keyErrors[i] != null) {
          counts.failed.incrementAndGet();
          errors.add(where + ": " + view.keyErrors[i]);
        } else if (view.replicas.get(view.partitions[i]).isEmpty()) {
          counts.failed.incrementAndGet();
          errors.add(where + ": partition " + view.partitions[i] + " has no replica");
        } else {
          start[i] = Math.floorMod(rotation.getAndIncrement(), view.replicas.get(view.partitions[i]).size());
          pending.add(i);
        }
      }
      for (int attempt = 0; !pending.isEmpty(); attempt++) {
        Map<String, List<Integer>> groups = new LinkedHashMap<>();
        for (int key : pending) {
          List<String> replicas = view.replicas.get(view.partitions[key]);
          if (attempt >= replicas.size()) {
            counts.failed.incrementAndGet();
            errors.add("batch get of " + Json.quote(keys.get(key).key) + " in " + view.resource
                + " failed on every replica; last " + last[key]);
            continue;
          }
          String replica = replicas.get((start[key] + attempt) % replicas.size());
          groups.computeIfAbsent(replica, r -> new ArrayList<>()).add(key);
        }
        List<String> requestReplicas = new ArrayList<>();
        List<List<Integer>> requestKeys = new ArrayList<>();
        for (Map.Entry<String, List<Integer>> group : groups.entrySet()) {
          List<Integer> members = group.getValue();
          for (int from = 0; from < members.size(); from += view.batchGetLimit) {
            requestReplicas.add(group.getKey());
            requestKeys.add(members.subList(from, Math.min(members.size(), from + view.batchGetLimit)));
          }
        }
        if (attempt > 0) retries.addAndGet(requestKeys.size());
        List<Future<String>> tasks = new ArrayList<>();
        for (int r = 0; r < requestKeys.size(); r++) {
          String replica = requestReplicas.get(r);
          List<Integer> members = requestKeys.get(r);
          tasks.add(pool.submit(() -> batchOnce(view, replica, members, counts, errors)));
        }
        List<Integer> next = new ArrayList<>();
        for (int r = 0; r < tasks.size(); r++) {
          String failure = awaitValue(tasks.get(r));
          if (failure == null) continue;
          for (int key : requestKeys.get(r)) {
            last[key] = requestReplicas.get(r) + ": " + failure;
            next.add(key);
          }
        }
        pending = next;
      }
    }

    /** One batchGet; null when it was answered (and judged), else why it failed. */
    String batchOnce(View view, String replica, List<Integer> members, Counts counts, RoundErrors errors) {
      try {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        BinaryEncoder encoder = EncoderFactory.get().binaryEncoder(body, null);
        GenericDatumWriter<GenericRecord> writer = new GenericDatumWriter<>(requestSchema);
        for (int i = 0; i < members.size(); i++) {
          int key = members.get(i);
          GenericRecord record = new GenericData.Record(requestSchema);
          record.put("keyIndex", i);
          record.put("keyBytes", ByteBuffer.wrap(view.keyBytes[key]));
          record.put("partitionId", view.partitions[key]);
          writer.write(record, encoder);
        }
        encoder.flush();
        VeniceClientRequest request = VeniceClientRequest.newBuilder()
            .setResourceName(view.resource)
            .setIsBatchRequest(true)
            .setMethod("POST")
            .setKeyBytes(ByteString.copyFrom(body.toByteArray()))
            .build();
        VeniceServerResponse response;
        try {
          response = VeniceReadServiceGrpc.newBlockingStub(channel(replica))
              .withDeadlineAfter(GRPC_DEADLINE.toMillis(), TimeUnit.MILLISECONDS)
              .batchGet(request);
        } catch (StatusRuntimeException e) {
          return "gRPC " + e.getStatus().getCode() + ": " + e.getStatus().getDescription();
        }
        if (response.getErrorCode() != OK) {
          return "errorCode " + response.getErrorCode() + ": " + response.getErrorMessage();
        }
        Found[] found = new Found[members.size()];
        GenericDatumReader<GenericRecord> reader = new GenericDatumReader<>(responseSchema);
        BinaryDecoder decoder = DecoderFactory.get().binaryDecoder(response.getData().toByteArray(), null);
        while (!decoder.isEnd()) {
          GenericRecord record = reader.read(null, decoder);
          int index = (Integer) record.get("keyIndex");
          int schemaId = (Integer) record.get("schemaId");
          if (schemaId == NON_EXISTING_KEY_SCHEMA_ID) continue;
          if (index < 0 || index >= found.length) return "a record for keyIndex " + index + " of " + found.length;
          ByteBuffer value = (ByteBuffer) record.get("value");
          byte[] data = new byte[value.remaining()];
          value.duplicate().get(data);
          found[index] = new Found(view.decodeName(response.getCompressionStrategy(), schemaId, data));
        }
        for (int i = 0; i < members.size(); i++) {
          int key = members.get(i);
          judge(view, key, found[i] == null ? Found.MISSING : found[i], counts, errors,
              "batch get of " + Json.quote(keys.get(key).key) + " in " + view.resource + " from " + replica);
        }
        return null;
      } catch (ReadFailure e) {
        return e.getMessage();
      } catch (IOException | RuntimeException e) {
        return "unreadable batch answer: " + describe(e);
      }
    }

    void judge(View view, int key, Found found, Counts counts, RoundErrors errors, String where) {
      String expected = keys.get(key).expected.get(view.version);
      boolean present = found != Found.MISSING;
      if (expected == null ? !present : present && expected.equals(found.name)) {
        counts.ok.incrementAndGet();
        return;
      }
      counts.wrong.incrementAndGet();
      errors.add(where + ": expected " + (expected == null ? "no value" : "name " + Json.quote(expected)) + ", got "
          + (present ? "name " + Json.quote(found.name) : "no value"));
    }

    /** The channel to the gRPC address --grpc-map gives for a replica URL's host:port. */
    ManagedChannel channel(String replica) throws ReadFailure {
      // GrpcTransportClient takes the third "/"-separated part: http://host:port -> host:port.
      String[] parts = replica.split("/");
      String serverAddress = parts.length > 2 ? parts[2] : replica;
      String grpcAddress = grpcMap.get(serverAddress);
      if (grpcAddress == null) {
        throw new ReadFailure("no --grpc-map entry for " + Json.quote(serverAddress) + " (replica " + replica + ")");
      }
      return channels.computeIfAbsent(grpcAddress, address -> NettyChannelBuilder.forTarget(address)
          .usePlaintext()
          .maxInboundMessageSize(Integer.MAX_VALUE)
          .build());
    }

    void close() {
      pool.shutdownNow();
      for (ManagedChannel channel : channels.values()) channel.shutdownNow();
    }
  }

  /** A read's answer: the value's name, or MISSING. */
  static final class Found {
    static final Found MISSING = new Found(null);
    final String name;

    Found(String name) {
      this.name = name;
    }
  }

  static void awaitAll(List<? extends Future<?>> tasks) throws InterruptedException {
    for (Future<?> task : tasks) awaitValue(task);
  }

  static <T> T awaitValue(Future<T> task) throws InterruptedException {
    try {
      return task.get();
    } catch (ExecutionException e) {
      // The tasks catch what they expect; anything else is a bug in this client.
      throw new IllegalStateException("read task failed", e.getCause());
    }
  }

  // ---------------------------------------------------------------------------------------
  // Venice's encodings.

  /** DefaultVenicePartitioner, in Java int arithmetic. */
  static int defaultVenicePartition(byte[] keyBytes, int numPartitions) {
    byte[] digest;
    try {
      digest = MessageDigest.getInstance("MD5").digest(keyBytes);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    int modulo = 0;
    for (byte b : digest) modulo = (modulo * 256 + (b & 0xFF)) % numPartitions;
    return Math.abs(modulo % numPartitions);
  }

  static byte[] encodeKey(Schema keySchema, String key) throws IOException {
    Object datum = keySchema.getType() == Schema.Type.STRING
        ? new Utf8(key)
        : new GenericDatumReader<Object>(keySchema).read(null, DecoderFactory.get().jsonDecoder(keySchema, key));
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    BinaryEncoder encoder = EncoderFactory.get().binaryEncoder(out, null);
    new GenericDatumWriter<Object>(keySchema).write(datum, encoder);
    encoder.flush();
    return out.toByteArray();
  }

  static Schema parseSchema(String text) {
    return new Schema.Parser().parse(text);
  }

  // ---------------------------------------------------------------------------------------
  // Plumbing: options, keys, HTTP, counters, output.

  static final class Options {
    static final String USAGE = "Usage: TierClient --bootstrap http://HOST:PORT --store NAME --keys FILE"
        + " --grpc-map host:httpPort=host:grpcPort,... [--refresh-ms 500] [--round-ms 100]"
        + " [--multiget-request-schema FILE --multiget-response-schema FILE]";
    String bootstrap;
    String store;
    Path keys;
    final Map<String, String> grpcMap = new ConcurrentHashMap<>();
    long refreshMs = 500;
    long roundMs = 100;
    Path multigetRequestSchema = Path.of("src/venice/schemas/MultiGetRouterRequestKeyV1.avsc.json");
    Path multigetResponseSchema = Path.of("src/venice/schemas/MultiGetResponseRecordV1.avsc.json");
    List<String> directRouting;
    int directVersion = 1;
    int directPartitions;
    int directCompression = NO_OP;
    String directKeySchema = "\"string\"";
    Path directValueSchemaFile;
    int directValueSchemaId = 1;
    Path directDictionary;
    int directBatchGetLimit = DEFAULT_BATCH_GET_LIMIT;

    static Options parse(String[] args) {
      Options o = new Options();
      for (int i = 0; i < args.length; i++) {
        String flag = args[i];
        if (i + 1 >= args.length) throw new IllegalArgumentException(flag + " needs a value");
        String value = args[++i];
        switch (flag) {
          case "--bootstrap":
            o.bootstrap = value.replaceAll("/+$", "");
            break;
          case "--store":
            o.store = value;
            break;
          case "--keys":
            o.keys = Path.of(value);
            break;
          case "--grpc-map":
            for (String entry : value.split(",")) {
              if (entry.isBlank()) continue;
              int eq = entry.indexOf('=');
              if (eq <= 0 || eq == entry.length() - 1) {
                throw new IllegalArgumentException("--grpc-map entry " + Json.quote(entry) + " is not host:port=host:port");
              }
              o.grpcMap.put(entry.substring(0, eq).trim(), entry.substring(eq + 1).trim());
            }
            break;
          case "--refresh-ms":
            o.refreshMs = positive(flag, value);
            break;
          case "--round-ms":
            o.roundMs = Long.parseLong(value);
            break;
          case "--multiget-request-schema":
            o.multigetRequestSchema = Path.of(value);
            break;
          case "--multiget-response-schema":
            o.multigetResponseSchema = Path.of(value);
            break;
          case "--direct-routing":
            o.directRouting = List.of(value.split(","));
            break;
          case "--direct-version":
            o.directVersion = (int) positive(flag, value);
            break;
          case "--direct-partitions":
            o.directPartitions = (int) positive(flag, value);
            break;
          case "--direct-compression":
            o.directCompression = Integer.parseInt(value);
            break;
          case "--direct-key-schema":
            o.directKeySchema = value;
            break;
          case "--direct-value-schema-file":
            o.directValueSchemaFile = Path.of(value);
            break;
          case "--direct-value-schema-id":
            o.directValueSchemaId = Integer.parseInt(value);
            break;
          case "--direct-dictionary":
            o.directDictionary = Path.of(value);
            break;
          case "--direct-batch-get-limit":
            o.directBatchGetLimit = (int) positive(flag, value);
            break;
          default:
            throw new IllegalArgumentException("unknown flag " + flag);
        }
      }
      if (o.store == null) throw new IllegalArgumentException("--store is required");
      if (o.keys == null) throw new IllegalArgumentException("--keys is required");
      if (o.directRouting == null) {
        if (o.bootstrap == null) throw new IllegalArgumentException("--bootstrap is required");
        if (o.grpcMap.isEmpty()) throw new IllegalArgumentException("--grpc-map is required");
      }
      return o;
    }

    static long positive(String flag, String value) {
      long n = Long.parseLong(value);
      if (n <= 0) throw new IllegalArgumentException(flag + " must be positive, got " + value);
      return n;
    }
  }

  static final class KeyCase {
    final String key;
    /** Version -> the name its value must have; a version not here must miss the key. */
    final Map<Integer, String> expected;

    KeyCase(String key, Map<Integer, String> expected) {
      this.key = key;
      this.expected = expected;
    }

    static List<KeyCase> read(Path file) throws IOException {
      List<KeyCase> out = new ArrayList<>();
      int lineNumber = 0;
      for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
        lineNumber++;
        if (line.isEmpty()) continue;
        String[] fields = line.split("\t", -1);
        if (fields.length % 2 != 1) {
          throw new IllegalArgumentException(file + ":" + lineNumber + ": expected key then name/version pairs");
        }
        Map<Integer, String> expected = new HashMap<>();
        for (int i = 1; i < fields.length; i += 2) {
          int version = Integer.parseInt(fields[i + 1]);
          if (!fields[i].equals("-")) expected.put(version, fields[i]);
        }
        out.add(new KeyCase(fields[0], expected));
      }
      if (out.isEmpty()) throw new IllegalArgumentException(file + " has no keys");
      return out;
    }
  }

  /** HTTP/1.1 against --bootstrap (router and server D2 services alike) and the replicas. */
  static final class Http {
    final String base;
    final HttpClient client = HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(2))
        .build();

    Http(String base) {
      this.base = base;
    }

    /** GET base+path; `discovery` adds the headers D2ServiceDiscovery sends. */
    HttpResponse<byte[]> get(String path, Duration timeout, boolean discovery)
        throws IOException, InterruptedException {
      HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(base + path)).timeout(timeout).GET();
      if (discovery) {
        request.header("d2.service.discovery.response.v2.enabled", "true").header("X-VENICE-ALLOW-REDIRECT", "1");
      }
      return client.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    CompletableFuture<HttpResponse<byte[]>> getAsync(String url, Duration timeout) {
      HttpRequest request = HttpRequest.newBuilder(URI.create(url)).timeout(timeout).GET().build();
      return client.sendAsync(request, HttpResponse.BodyHandlers.ofByteArray());
    }
  }

  static String text(HttpResponse<byte[]> response) {
    String body = new String(response.body(), StandardCharsets.UTF_8);
    return body.length() > 500 ? body.substring(0, 500) + "..." : body;
  }

  static final class Counts {
    final AtomicInteger ok = new AtomicInteger();
    final AtomicInteger wrong = new AtomicInteger();
    final AtomicInteger failed = new AtomicInteger();

    Map<String, Object> json() {
      return counts(ok.get(), wrong.get(), failed.get());
    }
  }

  static Map<String, Object> counts(long ok, long wrong, long failed) {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("ok", ok);
    out.put("wrong", wrong);
    out.put("failed", failed);
    return out;
  }

  /** The first problem of a round, logged once per round so that stderr stays readable. */
  static final class RoundErrors {
    final AtomicReference<String> first = new AtomicReference<>();
    final AtomicInteger count = new AtomicInteger();

    void add(String message) {
      count.incrementAndGet();
      first.compareAndSet(null, message);
    }
  }

  static final class Stats {
    final AtomicInteger rounds = new AtomicInteger();
    final AtomicInteger refreshes = new AtomicInteger();
    final AtomicInteger refreshFailures = new AtomicInteger();
    final AtomicReference<String> firstError = new AtomicReference<>();
    final long[] single = new long[3];
    final long[] batch = new long[3];
    long retries;
    final Set<Integer> versionsRead = new TreeSet<>();

    synchronized void add(int version, Counts s, Counts b, long roundRetries) {
      versionsRead.add(version);
      single[0] += s.ok.get();
      single[1] += s.wrong.get();
      single[2] += s.failed.get();
      batch[0] += b.ok.get();
      batch[1] += b.wrong.get();
      batch[2] += b.failed.get();
      retries += roundRetries;
    }

    void error(String message) {
      firstError.compareAndSet(null, message);
    }

    synchronized Map<String, Object> summary() {
      Map<String, Object> out = new LinkedHashMap<>();
      out.put("event", "summary");
      out.put("rounds", rounds.get());
      out.put("single", counts(single[0], single[1], single[2]));
      out.put("batch", counts(batch[0], batch[1], batch[2]));
      out.put("retries", retries);
      out.put("refreshes", refreshes.get());
      out.put("refreshFailures", refreshFailures.get());
      out.put("versionsRead", new ArrayList<>(versionsRead));
      out.put("firstError", firstError.get());
      return out;
    }
  }

  /** Reads stdin to its end on a daemon thread; its end is the signal to stop. */
  static final class StdinWatch {
    final CompletableFuture<Void> closed = new CompletableFuture<>();

    static StdinWatch start() {
      StdinWatch watch = new StdinWatch();
      Thread thread = new Thread(() -> {
        byte[] buffer = new byte[4096];
        try {
          while (System.in.read(buffer) >= 0) {
            // Anything written is ignored; only the end matters.
          }
        } catch (IOException e) {
          log("stdin: " + describe(e));
        }
        watch.closed.complete(null);
      }, "stdin");
      thread.setDaemon(true);
      thread.start();
      return watch;
    }

    boolean closed() {
      return closed.isDone();
    }

    void awaitClose(long ms) throws InterruptedException {
      try {
        closed.get(ms, TimeUnit.MILLISECONDS);
      } catch (TimeoutException | ExecutionException e) {
        // The pause is over; the caller checks closed().
      }
    }
  }

  static java.util.concurrent.ThreadFactory daemon(String name) {
    AtomicInteger n = new AtomicInteger();
    return runnable -> {
      Thread thread = new Thread(runnable, name + "-" + n.incrementAndGet());
      thread.setDaemon(true);
      return thread;
    };
  }

  static synchronized void emit(Map<String, Object> event) {
    System.out.println(Json.write(event));
    System.out.flush();
  }

  static void log(String message) {
    System.err.println("TierClient: " + message);
    System.err.flush();
  }

  /** An exception and its causes, one line. */
  static String describe(Throwable e) {
    StringBuilder out = new StringBuilder();
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (out.length() > 0) out.append(" <- ");
      out.append(t.getClass().getSimpleName());
      if (t.getMessage() != null) out.append(": ").append(t.getMessage());
    }
    return out.toString();
  }

  /** The little JSON this client writes: maps, lists, strings, numbers, booleans, null. */
  static final class Json {
    static String write(Object value) {
      StringBuilder out = new StringBuilder();
      write(out, value);
      return out.toString();
    }

    static void write(StringBuilder out, Object value) {
      if (value == null) {
        out.append("null");
      } else if (value instanceof String) {
        out.append(quote((String) value));
      } else if (value instanceof Number || value instanceof Boolean) {
        out.append(value);
      } else if (value instanceof Map) {
        out.append('{');
        boolean first = true;
        for (Map.Entry<?, ?> e : ((Map<?, ?>) value).entrySet()) {
          if (!first) out.append(',');
          first = false;
          out.append(quote(e.getKey().toString())).append(':');
          write(out, e.getValue());
        }
        out.append('}');
      } else if (value instanceof Collection) {
        out.append('[');
        boolean first = true;
        for (Object item : (Collection<?>) value) {
          if (!first) out.append(',');
          first = false;
          write(out, item);
        }
        out.append(']');
      } else {
        throw new IllegalArgumentException("no JSON form for " + value.getClass());
      }
    }

    static String quote(String s) {
      if (s == null) return "null";
      StringBuilder out = new StringBuilder(s.length() + 2).append('"');
      for (int i = 0; i < s.length(); i++) {
        char c = s.charAt(i);
        switch (c) {
          case '"':
            out.append("\\\"");
            break;
          case '\\':
            out.append("\\\\");
            break;
          case '\n':
            out.append("\\n");
            break;
          case '\r':
            out.append("\\r");
            break;
          case '\t':
            out.append("\\t");
            break;
          default:
            if (c < 0x20) out.append(String.format("\\u%04x", (int) c));
            else out.append(c);
        }
      }
      return out.append('"').toString();
    }
  }
}
