/*
 * Rialto's load generator: gRPC unary calls over HTTP/2 on libnghttp2's client session
 * API, non-blocking sockets and epoll, one thread. Plaintext h2c (prior knowledge) by
 * default; with --tls, HTTP/2 over TLS (OpenSSL, ALPN "h2") with a client certificate
 * for mutual TLS. The TLS handshake is done blocking while connecting, before the run;
 * afterwards the socket is non-blocking and nghttp2 is fed through SSL_read/SSL_write,
 * whose WANT_READ/WANT_WRITE wait on epoll like recv/send's EAGAIN.
 *
 * It cycles through a pool file of pre-encoded gRPC request frames (the format of
 * scripts/bench/pool.ts: a 4-byte big-endian frame count, then the frames back to back,
 * each 1 byte flag + 4-byte big-endian length + message), sends each as
 * `POST <path>` with `content-type: application/grpc` and `te: trailers`, and checks
 * every answer: HTTP 200, grpc-status 0 (in trailers, or a trailers-only answer), one
 * uncompressed gRPC frame, the VeniceServerResponse errorCode (field 6) 200 and its data
 * (field 2) at least --min-data bytes. Failures are counted by kind.
 *
 *   closed loop (--rate 0): --connections C x --streams M calls always in flight.
 *   open loop (--rate R):   call k is due at start + k/R, sent by a timerfd-driven
 *                           scheduler; its latency counts from that intended time, so a
 *                           stalled server (or a late generator) is charged for every
 *                           call it delayed. The send lag (actual - intended) is
 *                           reported apart.
 *
 * --warmup seconds run unrecorded first; then --duration seconds (or --requests calls)
 * are recorded. Calls started in the recorded window are recorded; throughput is their
 * count over the time from the window's start to the last one's completion.
 *
 * Latencies go into a log-linear histogram of integer nanoseconds: exact below 256 ns,
 * then 128 sub-buckets per power of two (a percentile reads at most 1/128 = 0.8% high).
 * Its bucket indexes are those of scripts/bench/histogram.ts, so the bench merges the
 * JSON of many runs.
 *
 * Output: one JSON object on stdout (see print_result). Exit 0 when the run completed
 * (failed calls are in "errors"), 1 when it could not run, 2 on bad flags.
 *
 * Build: cc -O2 -o loadgen scripts/loadgen/loadgen.c -lnghttp2 -lssl -lcrypto
 *        (libnghttp2-dev, libssl-dev)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <nghttp2/nghttp2.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

/* ---------------------------------------------------------------- utilities */

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
#include <stdarg.h>
static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("loadgen: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(1);
}

static void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) die("out of memory");
  return p;
}

static void *xcalloc(size_t n, size_t size) {
  void *p = calloc(n ? n : 1, size ? size : 1);
  if (!p) die("out of memory");
  return p;
}

static inline uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static double cpu_seconds(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
         ru.ru_stime.tv_usec / 1e6;
}

/* ---------------------------------------------------------------- histogram */

/* Same layout as scripts/bench/histogram.ts: SUB_BITS 8, HALF 128, magnitudes to 30. */
#define H_SUB_BITS 8
#define H_SUB_COUNT (1u << H_SUB_BITS)
#define H_HALF (H_SUB_COUNT >> 1)
#define H_MAX_MAGNITUDE 30
#define H_BUCKETS ((H_MAX_MAGNITUDE + 1) * H_HALF + H_HALF)
#define H_MAX_VALUE ((UINT64_C(1) << (H_MAX_MAGNITUDE + H_SUB_BITS)) - 1)

typedef struct {
  uint64_t counts[H_BUCKETS];
  uint64_t count, min, max, clamped;
  double sum;
} histogram;

static void hist_init(histogram *h) {
  memset(h, 0, sizeof *h);
  h->min = UINT64_MAX;
}

static inline unsigned hist_bucket(uint64_t v) {
  if (v < H_SUB_COUNT) return (unsigned)v;
  unsigned magnitude = (unsigned)(63 - __builtin_clzll(v)) - (H_SUB_BITS - 1);
  return magnitude * H_HALF + (unsigned)(v >> magnitude);
}

static uint64_t hist_upper_edge(unsigned index) {
  if (index < H_SUB_COUNT) return index;
  unsigned magnitude = index / H_HALF - 1;
  uint64_t sub = index - magnitude * H_HALF;
  return ((sub + 1) << magnitude) - 1;
}

static inline void hist_record(histogram *h, int64_t ns) {
  uint64_t v = ns > 0 ? (uint64_t)ns : 0;
  if (v > H_MAX_VALUE) {
    v = H_MAX_VALUE;
    h->clamped++;
  }
  h->counts[hist_bucket(v)]++;
  h->count++;
  h->sum += (double)v;
  if (v < h->min) h->min = v;
  if (v > h->max) h->max = v;
}

/* Value at percentile p in ns: the upper edge of its bucket, capped at the maximum. */
static uint64_t hist_percentile(const histogram *h, double p) {
  if (h->count == 0) return 0;
  double exact = p / 100.0 * (double)h->count;
  uint64_t rank = (uint64_t)exact;
  if ((double)rank < exact) rank++; /* ceil, without libm */
  if (rank < 1) rank = 1;
  uint64_t seen = 0;
  for (unsigned i = 0; i < H_BUCKETS; i++) {
    seen += h->counts[i];
    if (seen >= rank) {
      uint64_t edge = hist_upper_edge(i);
      return edge < h->max ? edge : h->max;
    }
  }
  return h->max;
}

static void hist_print_json(FILE *out, const histogram *h) {
  fputs("{\"buckets\":[", out);
  int first = 1;
  for (unsigned i = 0; i < H_BUCKETS; i++) {
    if (!h->counts[i]) continue;
    fprintf(out, "%s[%u,%llu]", first ? "" : ",", i, (unsigned long long)h->counts[i]);
    first = 0;
  }
  fprintf(out, "],\"count\":%llu,\"minNs\":%llu,\"maxNs\":%llu,\"sumNs\":%.0f,\"clamped\":%llu}",
          (unsigned long long)h->count, (unsigned long long)(h->count ? h->min : 0),
          (unsigned long long)h->max, h->sum, (unsigned long long)h->clamped);
}

/* ---------------------------------------------------------------- failures by kind */

#define MAX_KINDS 64
static struct {
  char name[48];
  uint64_t count;
} kinds[MAX_KINDS];
static int kind_count;
static uint64_t other_kinds; /* failures past MAX_KINDS distinct names */

static void count_failure(const char *name) {
  for (int i = 0; i < kind_count; i++) {
    if (strcmp(kinds[i].name, name) == 0) {
      kinds[i].count++;
      return;
    }
  }
  if (kind_count == MAX_KINDS) {
    other_kinds++;
    return;
  }
  snprintf(kinds[kind_count].name, sizeof kinds[kind_count].name, "%s", name);
  kinds[kind_count++].count = 1;
}

/* ---------------------------------------------------------------- options */

typedef struct {
  const char *host;
  const char *port;
  const char *path;
  const char *pool;
  int connections;
  int streams;         /* closed loop: calls in flight per connection */
  double duration;     /* recorded seconds (when requests == 0) */
  uint64_t requests;   /* recorded calls instead of a duration */
  double warmup;       /* unrecorded seconds first */
  double rate;         /* calls/s; 0 = closed loop */
  int max_inflight;    /* open loop: calls in flight at most, over all connections */
  uint64_t min_data;   /* least data bytes a good answer carries */
  int keys_per_request;
  double timeout;      /* seconds to wait for stragglers after the window */
  uint64_t spin_ns;    /* open loop: poll instead of sleeping when the next call is this near */
  int tls;             /* HTTP/2 over TLS with a client certificate */
  const char *ca_file, *cert_file, *key_file, *server_name;
} options;

static const char USAGE[] =
    "Usage: loadgen --port N --path /pkg.Service/method --pool FILE [flags]\n"
    "  --host H             server address (default 127.0.0.1)\n"
    "  --port N             server port\n"
    "  --path P             gRPC method path\n"
    "  --pool FILE          pre-encoded request frames (scripts/bench/pool.ts format)\n"
    "  --connections C      HTTP/2 connections (default 1)\n"
    "  --streams M          closed loop: calls in flight per connection (default 1)\n"
    "  --duration S         recorded seconds (default 5)\n"
    "  --requests N         record N calls instead of a duration\n"
    "  --warmup S           unrecorded seconds before (default 1)\n"
    "  --rate R             open loop at R calls/s; 0 = closed loop (default 0)\n"
    "  --max-inflight N     open loop: calls in flight at most (default 10000)\n"
    "  --min-data N         least VeniceServerResponse data bytes (default 0)\n"
    "  --keys-per-request N reported as given, for keys/s (default 1)\n"
    "  --timeout S          wait for answers after the window (default 30)\n"
    "  --spin-us U          open loop: poll rather than sleep when the next call is due\n"
    "                       within U µs (default 200; 0 = always sleep on a timer)\n"
    "  --tls                HTTP/2 over TLS (ALPN h2) instead of h2c; needs --ca, and\n"
    "                       --cert with --key for mutual TLS\n"
    "  --ca FILE            PEM CA the server's certificate must chain to\n"
    "  --cert FILE          PEM client certificate (chain)\n"
    "  --key FILE           PEM client private key\n"
    "  --server-name NAME   name (or IP) the server's certificate must carry, sent as SNI\n"
    "                       when a name (default: --host)\n";

static double parse_number(const char *flag, const char *s, double min) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (errno || *end || end == s || !(v >= min) || v > 1e15) {
    fprintf(stderr, "loadgen: %s must be a number >= %g, not \"%s\"\n%s", flag, min, s, USAGE);
    exit(2);
  }
  return v;
}

static options parse_options(int argc, char **argv) {
  options o = {.host = "127.0.0.1",
               .connections = 1,
               .streams = 1,
               .duration = 5,
               .warmup = 1,
               .max_inflight = 10000,
               .keys_per_request = 1,
               .timeout = 30,
               .spin_ns = 200000};
  static const struct option long_options[] = {
      {"host", required_argument, 0, 'h'},        {"port", required_argument, 0, 'p'},
      {"path", required_argument, 0, 'P'},        {"pool", required_argument, 0, 'f'},
      {"connections", required_argument, 0, 'c'}, {"streams", required_argument, 0, 'm'},
      {"duration", required_argument, 0, 'd'},    {"requests", required_argument, 0, 'n'},
      {"warmup", required_argument, 0, 'w'},      {"rate", required_argument, 0, 'r'},
      {"max-inflight", required_argument, 0, 'i'}, {"min-data", required_argument, 0, 'D'},
      {"keys-per-request", required_argument, 0, 'k'},
      {"timeout", required_argument, 0, 't'},     {"spin-us", required_argument, 0, 's'},
      {"tls", no_argument, 0, 'T'},               {"ca", required_argument, 0, 'A'},
      {"cert", required_argument, 0, 'C'},        {"key", required_argument, 0, 'K'},
      {"server-name", required_argument, 0, 'S'}, {"help", no_argument, 0, '?'},
      {0, 0, 0, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
    switch (c) {
    case 'h': o.host = optarg; break;
    case 'p': o.port = optarg; break;
    case 'P': o.path = optarg; break;
    case 'f': o.pool = optarg; break;
    case 'c': o.connections = (int)parse_number("--connections", optarg, 1); break;
    case 'm': o.streams = (int)parse_number("--streams", optarg, 1); break;
    case 'd': o.duration = parse_number("--duration", optarg, 0.001); break;
    case 'n': o.requests = (uint64_t)parse_number("--requests", optarg, 1); break;
    case 'w': o.warmup = parse_number("--warmup", optarg, 0); break;
    case 'r': o.rate = parse_number("--rate", optarg, 0); break;
    case 'i': o.max_inflight = (int)parse_number("--max-inflight", optarg, 1); break;
    case 'D': o.min_data = (uint64_t)parse_number("--min-data", optarg, 0); break;
    case 'k': o.keys_per_request = (int)parse_number("--keys-per-request", optarg, 1); break;
    case 't': o.timeout = parse_number("--timeout", optarg, 0); break;
    case 's': o.spin_ns = (uint64_t)(parse_number("--spin-us", optarg, 0) * 1000); break;
    case 'T': o.tls = 1; break;
    case 'A': o.ca_file = optarg; break;
    case 'C': o.cert_file = optarg; break;
    case 'K': o.key_file = optarg; break;
    case 'S': o.server_name = optarg; break;
    default: fputs(USAGE, stderr); exit(2);
    }
  }
  if (optind < argc || !o.port || !o.path || !o.pool) {
    fprintf(stderr, "loadgen: --port, --path and --pool are required\n%s", USAGE);
    exit(2);
  }
  if ((o.ca_file || o.cert_file || o.key_file || o.server_name) && !o.tls) {
    fprintf(stderr, "loadgen: --ca, --cert, --key and --server-name go with --tls\n");
    exit(2);
  }
  if (o.tls && (!o.ca_file || !o.cert_file != !o.key_file)) {
    fprintf(stderr, "loadgen: --tls needs --ca, and --cert and --key together\n");
    exit(2);
  }
  if (!o.server_name) o.server_name = o.host;
  if (o.connections > 1024 || o.streams > 100000) {
    fprintf(stderr, "loadgen: at most 1024 connections and 100000 streams each\n");
    exit(2);
  }
  return o;
}

/* ---------------------------------------------------------------- request pool */

typedef struct {
  const uint8_t *data;
  size_t len;
} frame_ref;

static uint8_t *pool_bytes;
static frame_ref *pool_frames;
static size_t pool_count;

static inline uint32_t be32(const uint8_t *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static void load_pool(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) die("cannot open pool %s: %s", path, strerror(errno));
  if (fseek(f, 0, SEEK_END) != 0) die("cannot read pool %s", path);
  long size = ftell(f);
  rewind(f);
  if (size < 4) die("pool %s is too short", path);
  pool_bytes = xmalloc((size_t)size);
  if (fread(pool_bytes, 1, (size_t)size, f) != (size_t)size) die("cannot read pool %s", path);
  fclose(f);
  pool_count = be32(pool_bytes);
  if (pool_count == 0) die("pool %s is empty", path);
  pool_frames = xcalloc(pool_count, sizeof *pool_frames);
  size_t pos = 4;
  for (size_t i = 0; i < pool_count; i++) {
    if (pos + 5 > (size_t)size) die("pool %s ends inside frame %zu", path, i);
    size_t end = pos + 5 + be32(pool_bytes + pos + 1);
    if (end > (size_t)size) die("pool %s ends inside frame %zu", path, i);
    pool_frames[i].data = pool_bytes + pos;
    pool_frames[i].len = end - pos;
    pos = end;
  }
  if (pos != (size_t)size) die("pool %s has bytes after its last frame", path);
}

/* ---------------------------------------------------------------- answer check */

#define VENICE_OK 200

/* Reads a varint at *pos (< end); returns 0 past the end or after 10 bytes. */
static inline int read_varint(const uint8_t *buf, size_t end, size_t *pos, uint64_t *out) {
  uint64_t result = 0;
  for (int shift = 0; shift < 70; shift += 7) {
    if (*pos >= end) return 0;
    uint8_t b = buf[(*pos)++];
    result |= (uint64_t)(b & 0x7f) << shift;
    if (b < 0x80) {
      *out = result;
      return 1;
    }
  }
  return 0;
}

/*
 * Checks a whole response body: one uncompressed gRPC frame holding a VeniceServerResponse
 * whose errorCode is 200 and whose data is at least min_data long. Returns NULL when good,
 * else a failure kind written into `kind` (or a constant).
 */
static const char *check_venice(const uint8_t *body, size_t len, uint64_t min_data,
                                char *kind, size_t kind_size) {
  if (len < 5) return "short-frame";
  if (body[0] != 0) return "compressed-frame";
  if (5 + (size_t)be32(body + 1) != len) return "frame-length";
  size_t pos = 5;
  int32_t error_code = 0;
  uint64_t data_bytes = 0;
  while (pos < len) {
    uint64_t tag, v;
    if (!read_varint(body, len, &pos, &tag)) return "bad-protobuf";
    uint64_t field = tag >> 3;
    switch (tag & 7) {
    case 0:
      if (!read_varint(body, len, &pos, &v)) return "bad-protobuf";
      if (field == 6) error_code = (int32_t)(uint32_t)v; /* uint32 carrying a signed code */
      break;
    case 2:
      if (!read_varint(body, len, &pos, &v) || v > len - pos) return "bad-protobuf";
      if (field == 2) data_bytes = v;
      pos += (size_t)v;
      break;
    case 5: pos += 4; break;
    case 1: pos += 8; break;
    default: return "bad-protobuf";
    }
  }
  if (pos != len) return "bad-protobuf";
  if (error_code != VENICE_OK) {
    snprintf(kind, kind_size, "venice-%d", error_code);
    return kind;
  }
  if (data_bytes < min_data) return "short-data";
  return NULL;
}

/* ---------------------------------------------------------------- connections and calls */

struct connection;

/* One call slot: a stream in flight, or free. */
typedef struct call {
  struct connection *conn;
  struct call *next_free;
  int32_t stream_id;
  int busy;
  int recorded;
  const frame_ref *body;
  size_t body_sent;
  uint64_t start_ns; /* when it was sent (closed loop) or due (open loop) */
  int http_status;
  int grpc_status; /* -1: none seen */
  uint8_t *resp;
  size_t resp_len, resp_cap;
} call;

typedef struct connection {
  int index;
  int fd;
  int dead;
  int want_out; /* EPOLLOUT registered */
  SSL *ssl;     /* NULL: plaintext */
  int read_wants_write; /* SSL_read said WANT_WRITE: read again once writable */
  nghttp2_session *session;
  call *calls;
  int ncalls;
  call *free_list;
  int inflight;
  uint8_t *out;
  size_t out_len, out_sent, out_cap;
} connection;

static options opt;
static SSL_CTX *ssl_ctx;
static connection *conns;
static int epfd;

/* Run state. */
static uint64_t t_start, t_measure_from, t_measure_until, t_last_done;
static size_t next_frame;
static int total_inflight;
static uint64_t recorded_started, recorded_requests, recorded_ok, all_calls;
static int window_closed; /* no new calls: the window (or the request count) is done */
static histogram latency, send_lag;
static double cpu_at_measure = -1;

static const nghttp2_nv request_headers_template[] = {
    {(uint8_t *)":method", (uint8_t *)"POST", 7, 4,
     NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE},
    {(uint8_t *)":scheme", (uint8_t *)"http", 7, 4,
     NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE},
    {(uint8_t *)":authority", NULL, 10, 0, NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE},
    {(uint8_t *)":path", NULL, 5, 0, NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE},
    {(uint8_t *)"content-type", (uint8_t *)"application/grpc", 12, 16,
     NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE},
    {(uint8_t *)"te", (uint8_t *)"trailers", 2, 8,
     NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE},
};
#define N_HEADERS (sizeof request_headers_template / sizeof request_headers_template[0])
static nghttp2_nv request_headers[N_HEADERS];
static char authority[300];

/* A call ended (answered, reset, or its connection lost): account for it, free its slot. */
static void finish_call(call *c, const char *failure) {
  uint64_t now = now_ns();
  all_calls++;
  if (c->recorded) {
    recorded_requests++;
    t_last_done = now;
    if (failure == NULL) {
      recorded_ok++;
      hist_record(&latency, (int64_t)(now - c->start_ns));
    } else {
      count_failure(failure);
    }
  }
  c->busy = 0;
  c->stream_id = 0;
  c->resp_len = 0;
  connection *conn = c->conn;
  conn->inflight--;
  total_inflight--;
  c->next_free = conn->free_list;
  conn->free_list = c;
}

/* The verdict on a call whose stream closed with `error_code`. */
static void judge_call(call *c, uint32_t error_code) {
  char kind[48];
  const char *failure = NULL;
  if (error_code != NGHTTP2_NO_ERROR) {
    snprintf(kind, sizeof kind, "stream-reset-%s", nghttp2_http2_strerror(error_code));
    failure = kind;
  } else if (c->http_status != 200) {
    snprintf(kind, sizeof kind, "http-%d", c->http_status);
    failure = kind;
  } else if (c->grpc_status < 0) {
    failure = "no-grpc-status";
  } else if (c->grpc_status != 0) {
    snprintf(kind, sizeof kind, "grpc-%d", c->grpc_status);
    failure = kind;
  } else {
    failure = check_venice(c->resp, c->resp_len, opt.min_data, kind, sizeof kind);
  }
  finish_call(c, failure);
}

static ssize_t read_body(nghttp2_session *session, int32_t stream_id, uint8_t *buf,
                         size_t length, uint32_t *data_flags, nghttp2_data_source *source,
                         void *user_data) {
  (void)session, (void)stream_id, (void)user_data;
  call *c = source->ptr;
  size_t left = c->body->len - c->body_sent;
  size_t n = left < length ? left : length;
  memcpy(buf, c->body->data + c->body_sent, n);
  c->body_sent += n;
  if (c->body_sent == c->body->len) *data_flags |= NGHTTP2_DATA_FLAG_EOF;
  return (ssize_t)n;
}

static int on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                     void *user_data) {
  (void)flags, (void)user_data;
  if (frame->hd.type != NGHTTP2_HEADERS) return 0;
  call *c = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
  if (!c) return 0;
  if (namelen == 7 && memcmp(name, ":status", 7) == 0) {
    int status = 0;
    for (size_t i = 0; i < valuelen && i < 4; i++) status = status * 10 + (value[i] - '0');
    c->http_status = status;
  } else if (namelen == 11 && memcmp(name, "grpc-status", 11) == 0) {
    int status = 0;
    for (size_t i = 0; i < valuelen && i < 6; i++) {
      if (value[i] < '0' || value[i] > '9') {
        status = 999;
        break;
      }
      status = status * 10 + (value[i] - '0');
    }
    c->grpc_status = valuelen ? status : 999;
  }
  return 0;
}

static int on_data_chunk(nghttp2_session *session, uint8_t flags, int32_t stream_id,
                         const uint8_t *data, size_t len, void *user_data) {
  (void)flags, (void)user_data;
  call *c = nghttp2_session_get_stream_user_data(session, stream_id);
  if (!c) return 0;
  if (c->resp_len + len > c->resp_cap) {
    size_t cap = c->resp_cap ? c->resp_cap : 256;
    while (cap < c->resp_len + len) cap *= 2;
    c->resp = realloc(c->resp, cap);
    if (!c->resp) die("out of memory");
    c->resp_cap = cap;
  }
  memcpy(c->resp + c->resp_len, data, len);
  c->resp_len += len;
  return 0;
}

static int on_stream_close(nghttp2_session *session, int32_t stream_id, uint32_t error_code,
                           void *user_data) {
  (void)user_data;
  call *c = nghttp2_session_get_stream_user_data(session, stream_id);
  if (c && c->busy) judge_call(c, error_code);
  return 0;
}

/* A request that never left (the server sent GOAWAY, or the stream could not open). */
static int on_frame_not_send(nghttp2_session *session, const nghttp2_frame *frame, int lib_error,
                             void *user_data) {
  (void)session;
  connection *conn = user_data;
  if (frame->hd.type != NGHTTP2_HEADERS) return 0;
  for (int i = 0; i < conn->ncalls; i++) {
    call *c = &conn->calls[i];
    if (c->busy && c->stream_id == frame->hd.stream_id) {
      char kind[48];
      snprintf(kind, sizeof kind, "not-sent-%s", nghttp2_strerror(lib_error));
      finish_call(c, kind);
      break;
    }
  }
  return 0;
}

/* Fails every call in flight on a connection that is gone, and stops using it. */
static void lose_connection(connection *conn, const char *why) {
  if (conn->dead) return;
  if (!window_closed || conn->inflight) {
    fprintf(stderr, "loadgen: connection %d lost (%s) with %d calls in flight\n", conn->index,
            why, conn->inflight);
  }
  conn->dead = 1;
  for (int i = 0; i < conn->ncalls; i++) {
    if (conn->calls[i].busy) finish_call(&conn->calls[i], "connection-lost");
  }
  epoll_ctl(epfd, EPOLL_CTL_DEL, conn->fd, NULL);
  close(conn->fd);
  conn->fd = -1;
}

/* Starts one call on `conn` (which has a free slot); start_ns is its sent or due time. */
static void start_call(connection *conn, uint64_t start_ns, int recorded) {
  call *c = conn->free_list;
  conn->free_list = c->next_free;
  c->busy = 1;
  c->recorded = recorded;
  c->body = &pool_frames[next_frame];
  next_frame = next_frame + 1 == pool_count ? 0 : next_frame + 1;
  c->body_sent = 0;
  c->start_ns = start_ns;
  c->http_status = 0;
  c->grpc_status = -1;
  c->resp_len = 0;
  conn->inflight++;
  total_inflight++;
  nghttp2_data_provider provider = {.source = {.ptr = c}, .read_callback = read_body};
  int32_t id =
      nghttp2_submit_request(conn->session, NULL, request_headers, N_HEADERS, &provider, c);
  if (id < 0) {
    c->stream_id = 0;
    finish_call(c, "submit-failed");
    return;
  }
  c->stream_id = id;
}

static void set_want_out(connection *conn, int want) {
  if (conn->want_out == want) return;
  struct epoll_event ev = {.events = EPOLLIN | (want ? EPOLLOUT : 0), .data.ptr = conn};
  epoll_ctl(epfd, EPOLL_CTL_MOD, conn->fd, &ev);
  conn->want_out = want;
}

/* What went wrong in an SSL call that returned `ret` with SSL_get_error `err`. */
static const char *tls_failure(int err, int ret) {
  static char text[256];
  unsigned long e = ERR_peek_last_error();
  if (e) {
    ERR_error_string_n(e, text, sizeof text);
  } else if (err == SSL_ERROR_SYSCALL) {
    snprintf(text, sizeof text, "TLS: %s", ret == 0 || errno == 0 ? "unexpected EOF" : strerror(errno));
  } else {
    snprintf(text, sizeof text, "TLS error %d", err);
  }
  ERR_clear_error();
  return text;
}

/*
 * Writes the pending output through SSL_write (partial writes on, the buffer may move
 * between retries). Returns 1 when all of it went out; 0 when it waits for the socket
 * (EPOLLOUT on WANT_WRITE; WANT_READ waits for EPOLLIN, always registered, and flush
 * runs on every turn of the loop) or the connection was lost.
 */
static int tls_send(connection *conn) {
  while (conn->out_sent < conn->out_len) {
    size_t left = conn->out_len - conn->out_sent;
    int w = SSL_write(conn->ssl, conn->out + conn->out_sent, left > INT32_MAX ? INT32_MAX : (int)left);
    if (w > 0) {
      conn->out_sent += (size_t)w;
      continue;
    }
    int err = SSL_get_error(conn->ssl, w);
    if (err == SSL_ERROR_WANT_WRITE) {
      set_want_out(conn, 1);
    } else if (err == SSL_ERROR_WANT_READ) {
      set_want_out(conn, conn->read_wants_write);
    } else {
      lose_connection(conn, tls_failure(err, w));
    }
    return 0;
  }
  return 1;
}

/* Serializes what the session has to send, and writes as much as the socket takes. */
static void flush(connection *conn) {
  if (conn->dead) return;
  for (;;) {
    const uint8_t *chunk;
    ssize_t n = nghttp2_session_mem_send(conn->session, &chunk);
    if (n < 0) {
      lose_connection(conn, nghttp2_strerror((int)n));
      return;
    }
    if (n == 0) break;
    if (conn->out_len + (size_t)n > conn->out_cap) {
      if (conn->out_sent) {
        memmove(conn->out, conn->out + conn->out_sent, conn->out_len - conn->out_sent);
        conn->out_len -= conn->out_sent;
        conn->out_sent = 0;
      }
      while (conn->out_len + (size_t)n > conn->out_cap) conn->out_cap *= 2;
      conn->out = realloc(conn->out, conn->out_cap);
      if (!conn->out) die("out of memory");
    }
    memcpy(conn->out + conn->out_len, chunk, (size_t)n);
    conn->out_len += (size_t)n;
  }
  if (conn->ssl && !tls_send(conn)) return;
  while (conn->out_sent < conn->out_len) {
    ssize_t w = send(conn->fd, conn->out + conn->out_sent, conn->out_len - conn->out_sent,
                     MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        set_want_out(conn, 1);
        return;
      }
      lose_connection(conn, strerror(errno));
      return;
    }
    conn->out_sent += (size_t)w;
  }
  conn->out_len = conn->out_sent = 0;
  set_want_out(conn, conn->read_wants_write);
  if (!nghttp2_session_want_read(conn->session) && !nghttp2_session_want_write(conn->session)) {
    lose_connection(conn, "session ended");
  }
}

/* Decrypts whatever the socket has (until SSL_read wants more) into the session. */
static void tls_receive(connection *conn, uint8_t *buf, int cap) {
  conn->read_wants_write = 0;
  for (;;) {
    int r = SSL_read(conn->ssl, buf, cap);
    if (r <= 0) {
      int err = SSL_get_error(conn->ssl, r);
      if (err == SSL_ERROR_WANT_READ) return;
      if (err == SSL_ERROR_WANT_WRITE) {
        conn->read_wants_write = 1; /* read again once the socket is writable */
        set_want_out(conn, 1);
        return;
      }
      lose_connection(conn, err == SSL_ERROR_ZERO_RETURN ? "closed by the server"
                                                         : tls_failure(err, r));
      return;
    }
    ssize_t used = nghttp2_session_mem_recv(conn->session, buf, (size_t)r);
    if (used < 0) {
      lose_connection(conn, nghttp2_strerror((int)used));
      return;
    }
  }
}

static void receive(connection *conn) {
  static uint8_t buf[256 * 1024];
  if (conn->ssl) {
    tls_receive(conn, buf, (int)sizeof buf);
    return;
  }
  for (;;) {
    ssize_t r = recv(conn->fd, buf, sizeof buf, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      lose_connection(conn, strerror(errno));
      return;
    }
    if (r == 0) {
      lose_connection(conn, "closed by the server");
      return;
    }
    ssize_t used = nghttp2_session_mem_recv(conn->session, buf, (size_t)r);
    if (used < 0) {
      lose_connection(conn, nghttp2_strerror((int)used));
      return;
    }
    if ((size_t)r < sizeof buf) return;
  }
}

/* "TLSv1.3 TLS_AES_128_GCM_SHA256" of the first connection, for the result. */
static char tls_description[128];

/* SSL_CTX for --tls: verify the server against --ca, present --cert/--key, offer h2. */
static void setup_tls(void) {
  ssl_ctx = SSL_CTX_new(TLS_client_method());
  if (!ssl_ctx) die("SSL_CTX_new: %s", tls_failure(SSL_ERROR_SSL, 0));
  SSL_CTX_set_min_proto_version(ssl_ctx, TLS1_2_VERSION);
  SSL_CTX_set_mode(ssl_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_set_read_ahead(ssl_ctx, 1);
  SSL_CTX_set_verify(ssl_ctx, SSL_VERIFY_PEER, NULL);
  if (SSL_CTX_load_verify_locations(ssl_ctx, opt.ca_file, NULL) != 1) {
    die("cannot load CA %s: %s", opt.ca_file, tls_failure(SSL_ERROR_SSL, 0));
  }
  if (opt.cert_file) {
    if (SSL_CTX_use_certificate_chain_file(ssl_ctx, opt.cert_file) != 1) {
      die("cannot load certificate %s: %s", opt.cert_file, tls_failure(SSL_ERROR_SSL, 0));
    }
    if (SSL_CTX_use_PrivateKey_file(ssl_ctx, opt.key_file, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ssl_ctx) != 1) {
      die("cannot load key %s: %s", opt.key_file, tls_failure(SSL_ERROR_SSL, 0));
    }
  }
  static const unsigned char alpn[] = {2, 'h', '2'};
  if (SSL_CTX_set_alpn_protos(ssl_ctx, alpn, sizeof alpn) != 0) die("cannot set ALPN");
}

/* The TLS handshake on the still blocking socket; dies unless the server chose h2. */
static void tls_handshake(connection *conn) {
  conn->ssl = SSL_new(ssl_ctx);
  if (!conn->ssl || SSL_set_fd(conn->ssl, conn->fd) != 1) die("SSL_new: out of memory");
  struct in6_addr ip;
  int is_ip = inet_pton(AF_INET, opt.server_name, &ip) == 1 ||
              inet_pton(AF_INET6, opt.server_name, &ip) == 1;
  if (is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(conn->ssl), opt.server_name) != 1
            : SSL_set_tlsext_host_name(conn->ssl, opt.server_name) != 1 ||
                  SSL_set1_host(conn->ssl, opt.server_name) != 1) {
    die("cannot set the server name %s", opt.server_name);
  }
  int r = SSL_connect(conn->ssl);
  if (r != 1) {
    int err = SSL_get_error(conn->ssl, r);
    long verify = SSL_get_verify_result(conn->ssl);
    die("TLS handshake with %s:%s failed: %s%s%s", opt.host, opt.port, tls_failure(err, r),
        verify != X509_V_OK ? "; certificate: " : "",
        verify != X509_V_OK ? X509_verify_cert_error_string(verify) : "");
  }
  const unsigned char *proto;
  unsigned int proto_len;
  SSL_get0_alpn_selected(conn->ssl, &proto, &proto_len);
  if (proto_len != 2 || memcmp(proto, "h2", 2) != 0) {
    die("the server at %s:%s did not choose ALPN h2", opt.host, opt.port);
  }
  if (!tls_description[0]) {
    snprintf(tls_description, sizeof tls_description, "%s %s", SSL_get_version(conn->ssl),
             SSL_CIPHER_get_name(SSL_get_current_cipher(conn->ssl)));
  }
}

static void open_connection(connection *conn, const struct addrinfo *addr, int slots) {
  conn->fd = socket(addr->ai_family, addr->ai_socktype | SOCK_CLOEXEC, addr->ai_protocol);
  if (conn->fd < 0) die("socket: %s", strerror(errno));
  if (connect(conn->fd, addr->ai_addr, addr->ai_addrlen) != 0) {
    die("cannot connect to %s:%s: %s", opt.host, opt.port, strerror(errno));
  }
  int one = 1;
  setsockopt(conn->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (ssl_ctx) tls_handshake(conn);
  fcntl(conn->fd, F_SETFL, fcntl(conn->fd, F_GETFL) | O_NONBLOCK);

  nghttp2_session_callbacks *cb;
  if (nghttp2_session_callbacks_new(&cb) != 0) die("out of memory");
  nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
  nghttp2_session_callbacks_set_on_frame_not_send_callback(cb, on_frame_not_send);
  nghttp2_option *option;
  if (nghttp2_option_new(&option) != 0) die("out of memory");
  /* Until the server's SETTINGS arrive, assume it takes as many streams as we open. */
  nghttp2_option_set_peer_max_concurrent_streams(option, (uint32_t)slots);
  if (nghttp2_session_client_new2(&conn->session, cb, conn, option) != 0) die("out of memory");
  nghttp2_option_del(option);
  nghttp2_session_callbacks_del(cb);

  nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 16 * 1024 * 1024},
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 0},
  };
  if (nghttp2_submit_settings(conn->session, NGHTTP2_FLAG_NONE, settings, 3) != 0 ||
      nghttp2_session_set_local_window_size(conn->session, NGHTTP2_FLAG_NONE, 0,
                                            64 * 1024 * 1024) != 0) {
    die("cannot set up the HTTP/2 session");
  }
  conn->ncalls = slots;
  conn->calls = xcalloc((size_t)slots, sizeof(call));
  for (int i = slots - 1; i >= 0; i--) {
    conn->calls[i].conn = conn;
    conn->calls[i].next_free = conn->free_list;
    conn->free_list = &conn->calls[i];
  }
  conn->out_cap = 64 * 1024;
  conn->out = xmalloc(conn->out_cap);
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = conn};
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, conn->fd, &ev) != 0) die("epoll_ctl: %s", strerror(errno));
}

/* ---------------------------------------------------------------- the run */

static int is_recording(uint64_t t) {
  return t >= t_measure_from && (opt.requests ? recorded_started < opt.requests
                                              : t < t_measure_until);
}

/* Marks the start of the recorded window's work once (CPU time from here). */
static inline void note_recorded_start(void) {
  recorded_started++;
  if (cpu_at_measure < 0) cpu_at_measure = cpu_seconds();
}

/* Closed loop: refills every free slot of a live connection while the window is open. */
static void refill_closed(connection *conn) {
  while (!window_closed && conn->free_list && !conn->dead) {
    uint64_t t = now_ns();
    if (t >= t_measure_from && !is_recording(t)) {
      window_closed = 1;
      break;
    }
    int recorded = t >= t_measure_from;
    if (recorded) note_recorded_start();
    start_call(conn, t, recorded);
  }
}

/* Open loop: call k is due at t_start + k / rate. */
static uint64_t due_index;
static double interval_ns;

static inline uint64_t due_time(uint64_t k) {
  return t_start + (uint64_t)((double)k * interval_ns);
}

static int next_open_connection;
/* Recorded calls that fell due while --max-inflight calls were already out (the server
 * fell behind by that many): they went out late for the server's sake, not ours. */
static uint64_t capped_calls, last_capped_index = UINT64_MAX;

static void note_capped(uint64_t due) {
  if (due >= t_measure_from && last_capped_index != due_index) {
    last_capped_index = due_index;
    capped_calls++;
  }
}

/* Sends every call that is due and has a slot; returns the next due time (0: none left). */
static uint64_t dispatch_open(void) {
  uint64_t now = now_ns();
  while (!window_closed) {
    uint64_t due = due_time(due_index);
    if (due > now) return due;
    if (due >= t_measure_from && !is_recording(due)) {
      window_closed = 1;
      break;
    }
    if (total_inflight >= opt.max_inflight) {
      note_capped(due);
      return 0; /* retried as answers free slots */
    }
    connection *conn = NULL;
    for (int tries = 0; tries < opt.connections; tries++) {
      connection *c = &conns[next_open_connection];
      next_open_connection = next_open_connection + 1 == opt.connections ? 0 : next_open_connection + 1;
      if (!c->dead && c->free_list) {
        conn = c;
        break;
      }
    }
    if (!conn) {
      note_capped(due);
      return 0;
    }
    int recorded = due >= t_measure_from;
    if (recorded) {
      note_recorded_start();
      hist_record(&send_lag, (int64_t)(now - due));
    }
    start_call(conn, due, recorded);
    due_index++;
    now = now_ns();
  }
  return 0;
}

static void arm_timer(int tfd, uint64_t at_ns) {
  struct itimerspec its = {0};
  if (at_ns) {
    its.it_value.tv_sec = (time_t)(at_ns / 1000000000u);
    its.it_value.tv_nsec = (long)(at_ns % 1000000000u);
  }
  timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

static void print_result(double elapsed, double client_cpu, int timed_out) {
  FILE *out = stdout;
  nghttp2_info *info = nghttp2_version(0);
  fprintf(out, "{\"runtime\":\"c nghttp2 %s\",\"mode\":\"%s\",", info->version_str,
          opt.rate > 0 ? "open" : "closed");
  fprintf(out, "\"connections\":%d,\"streams\":%d,\"rate\":%.0f,", opt.connections, opt.streams,
          opt.rate);
  fprintf(out, "\"requests\":%llu,\"allCalls\":%llu,\"ok\":%llu,\"errors\":{",
          (unsigned long long)recorded_requests, (unsigned long long)all_calls,
          (unsigned long long)recorded_ok);
  for (int i = 0; i < kind_count; i++) {
    fprintf(out, "%s\"%s\":%llu", i ? "," : "", kinds[i].name, (unsigned long long)kinds[i].count);
  }
  if (other_kinds) fprintf(out, "%s\"other\":%llu", kind_count ? "," : "", (unsigned long long)other_kinds);
  fprintf(out, "},\"timedOut\":%s,\"keysPerRequest\":%d,\"elapsedSec\":%.6f,\"requestsPerSec\":%.3f,",
          timed_out ? "true" : "false", opt.keys_per_request, elapsed,
          elapsed > 0 ? (double)recorded_requests / elapsed : 0.0);
  static const double ps[] = {50, 90, 99, 99.9, 99.99};
  static const char *names[] = {"p50", "p90", "p99", "p99.9", "p99.99"};
  fputs("\"latencyUs\":{", out);
  for (int i = 0; i < 5; i++) {
    fprintf(out, "\"%s\":%.3f,", names[i], hist_percentile(&latency, ps[i]) / 1000.0);
  }
  fprintf(out, "\"max\":%.3f},\"latency\":", latency.max / 1000.0);
  hist_print_json(out, &latency);
  fputs(",\"sendLag\":", out);
  if (opt.rate > 0) hist_print_json(out, &send_lag);
  else fputs("null", out);
  fprintf(out, ",\"cappedCalls\":%llu,\"clientCpu\":%.4f,", (unsigned long long)capped_calls,
          client_cpu);
  if (tls_description[0]) fprintf(out, "\"tls\":\"%s\"}\n", tls_description);
  else fputs("\"tls\":null}\n", out);
  fflush(out);
}

int main(int argc, char **argv) {
  opt = parse_options(argc, argv);
  signal(SIGPIPE, SIG_IGN);
  /* Timer wake-ups to the nanosecond, not the default 50 µs slack. */
  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
  load_pool(opt.pool);
  hist_init(&latency);
  hist_init(&send_lag);

  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *addr;
  int gai = getaddrinfo(opt.host, opt.port, &hints, &addr);
  if (gai != 0) die("cannot resolve %s:%s: %s", opt.host, opt.port, gai_strerror(gai));
  snprintf(authority, sizeof authority, "%s:%s", opt.host, opt.port);
  memcpy(request_headers, request_headers_template, sizeof request_headers);
  request_headers[2].value = (uint8_t *)authority;
  request_headers[2].valuelen = strlen(authority);
  request_headers[3].value = (uint8_t *)opt.path;
  request_headers[3].valuelen = strlen(opt.path);
  if (opt.tls) {
    setup_tls();
    request_headers[1].value = (uint8_t *)"https";
    request_headers[1].valuelen = 5;
  }

  epfd = epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0) die("epoll_create1: %s", strerror(errno));
  int open_loop = opt.rate > 0;
  int slots = open_loop ? (opt.max_inflight + opt.connections - 1) / opt.connections : opt.streams;
  conns = xcalloc((size_t)opt.connections, sizeof *conns);
  for (int i = 0; i < opt.connections; i++) {
    conns[i].index = i;
    open_connection(&conns[i], addr, slots);
  }
  freeaddrinfo(addr);
  int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (tfd < 0) die("timerfd_create: %s", strerror(errno));
  struct epoll_event tev = {.events = EPOLLIN, .data.ptr = NULL};
  epoll_ctl(epfd, EPOLL_CTL_ADD, tfd, &tev);

  t_start = now_ns();
  t_measure_from = t_start + (uint64_t)(opt.warmup * 1e9);
  t_measure_until = opt.requests ? UINT64_MAX : t_measure_from + (uint64_t)(opt.duration * 1e9);
  t_last_done = t_measure_from;
  interval_ns = open_loop ? 1e9 / opt.rate : 0;

  if (!open_loop) {
    for (int i = 0; i < opt.connections; i++) refill_closed(&conns[i]);
  }
  uint64_t give_up_at = 0; /* set when the window closes */
  int timer_off = 1;
  int timed_out = 0;
  struct epoll_event events[64];
  for (;;) {
    uint64_t next_due = 0;
    int spin = 0;
    if (open_loop) {
      next_due = dispatch_open();
      /* A due time closer than --spin-us is waited for by polling, not by a timer:
       * a timer wake-up costs more than the gap at high rates, and comes late. */
      spin = next_due && next_due <= now_ns() + opt.spin_ns;
      if (spin != timer_off) {
        timer_off = spin;
        if (spin) arm_timer(tfd, 0);
      }
      if (!spin) arm_timer(tfd, next_due);
    }
    for (int i = 0; i < opt.connections; i++) flush(&conns[i]);
    if (window_closed) {
      if (!give_up_at) give_up_at = now_ns() + (uint64_t)(opt.timeout * 1e9);
      if (total_inflight == 0) break;
    }
    int live = 0;
    for (int i = 0; i < opt.connections; i++) live += !conns[i].dead;
    if (!live) {
      fprintf(stderr, "loadgen: every connection is lost\n");
      break;
    }
    int timeout_ms = -1;
    uint64_t now = now_ns();
    if (spin && !window_closed) {
      timeout_ms = 0;
    } else if (give_up_at) {
      if (now >= give_up_at) {
        timed_out = 1;
        break;
      }
      timeout_ms = (int)((give_up_at - now) / 1000000u) + 1;
    } else if (!open_loop) {
      /* Closed loop: wake at the window's edges even if no answer comes. */
      uint64_t edge = now < t_measure_from ? t_measure_from : t_measure_until;
      if (edge != UINT64_MAX) timeout_ms = edge > now ? (int)((edge - now) / 1000000u) + 1 : 0;
    }
    int n = epoll_wait(epfd, events, 64, timeout_ms);
    if (n < 0 && errno != EINTR) die("epoll_wait: %s", strerror(errno));
    for (int i = 0; i < n; i++) {
      connection *conn = events[i].data.ptr;
      if (!conn) {
        uint64_t expirations;
        while (read(tfd, &expirations, sizeof expirations) > 0) {
        }
        continue;
      }
      if (conn->dead) continue;
      if ((events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) ||
          (conn->read_wants_write && (events[i].events & EPOLLOUT))) {
        receive(conn);
      }
      if (!conn->dead && (events[i].events & EPOLLOUT)) flush(conn);
    }
    if (!open_loop) {
      if (!window_closed && now_ns() >= t_measure_until) window_closed = 1;
      for (int i = 0; i < opt.connections; i++) refill_closed(&conns[i]);
    }
  }
  double cpu = cpu_seconds() - (cpu_at_measure < 0 ? cpu_seconds() : cpu_at_measure);
  if (timed_out) {
    fprintf(stderr, "loadgen: %d calls still unanswered %.0f s after the window\n", total_inflight,
            opt.timeout);
    for (int i = 0; i < opt.connections; i++) {
      for (int j = 0; j < conns[i].ncalls; j++) {
        if (conns[i].calls[j].busy) finish_call(&conns[i].calls[j], "timeout");
      }
    }
  }
  double elapsed = (double)(t_last_done > t_measure_from ? t_last_done - t_measure_from : 1) / 1e9;
  print_result(elapsed, elapsed > 0 ? cpu / elapsed : 0, timed_out);
  for (int i = 0; i < opt.connections; i++) {
    if (!conns[i].dead) {
      nghttp2_session_terminate_session(conns[i].session, NGHTTP2_NO_ERROR);
      flush(&conns[i]);
      if (conns[i].ssl) SSL_shutdown(conns[i].ssl);
      close(conns[i].fd);
    }
    if (conns[i].ssl) SSL_free(conns[i].ssl);
    nghttp2_session_del(conns[i].session);
  }
  return 0;
}
