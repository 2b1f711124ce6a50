/*
 * A trivial gRPC responder, to measure a load generator's ceiling: an h2c (prior
 * knowledge) server on libnghttp2's server session API, one thread, epoll, that answers
 * every request on any path with the same VeniceServerResponse (errorCode 200, --data-bytes
 * bytes of data) as one uncompressed gRPC frame followed by `grpc-status: 0` trailers. It
 * reads no request body and does no other work, so it answers far faster than any real
 * server; whatever rate a client reaches against it is the client's own limit.
 *
 *   responder [--port N] [--data-bytes 100] [--work-us 0]
 *
 * --work-us spins that many microseconds of CPU per request before answering: a server
 * with a given service time and nothing else (no GC, no runtime), to show what queueing
 * alone does to a tail on this machine at a fixed offered rate.
 *
 * Prints {"event":"listening","grpcPort":N} on stdout once it listens (as `rialto serve`
 * does); runs until killed.
 *
 * Build: cc -O2 -o responder scripts/loadgen/responder.c -lnghttp2   (libnghttp2-dev)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_REPLY 16384 /* one DATA frame at the default SETTINGS_MAX_FRAME_SIZE */

static uint8_t reply[MAX_REPLY];
static size_t reply_len;
static int epfd;
static uint64_t work_ns;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

typedef struct {
  int fd;
  nghttp2_session *session;
  uint8_t *out;
  size_t out_len, out_sent, out_cap;
  int want_out;
} client;

static void fail(const char *what) {
  fprintf(stderr, "responder: %s: %s\n", what, strerror(errno));
  exit(1);
}

/* VeniceServerResponse { data (2) = N bytes of 'a', errorCode (6) = 200 } in a gRPC frame. */
static void build_reply(size_t data_bytes) {
  uint8_t msg[MAX_REPLY];
  size_t n = 0;
  msg[n++] = 0x12; /* field 2, length-delimited */
  size_t v = data_bytes;
  while (v >= 0x80) {
    msg[n++] = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  msg[n++] = (uint8_t)v;
  memset(msg + n, 'a', data_bytes);
  n += data_bytes;
  msg[n++] = 0x30; /* field 6, varint */
  msg[n++] = 0xc8; /* 200 */
  msg[n++] = 0x01;
  reply[0] = 0;
  reply[1] = (uint8_t)(n >> 24);
  reply[2] = (uint8_t)(n >> 16);
  reply[3] = (uint8_t)(n >> 8);
  reply[4] = (uint8_t)n;
  memcpy(reply + 5, msg, n);
  reply_len = 5 + n;
}

static const nghttp2_nv response_headers[] = {
    {(uint8_t *)":status", (uint8_t *)"200", 7, 3,
     NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE},
    {(uint8_t *)"content-type", (uint8_t *)"application/grpc", 12, 16,
     NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE},
};
static const nghttp2_nv trailers[] = {
    {(uint8_t *)"grpc-status", (uint8_t *)"0", 11, 1,
     NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE},
};

/* The whole reply in one DATA frame; the trailers end the stream. */
static ssize_t read_reply(nghttp2_session *session, int32_t stream_id, uint8_t *buf,
                          size_t length, uint32_t *data_flags, nghttp2_data_source *source,
                          void *user_data) {
  (void)source, (void)user_data;
  if (length < reply_len) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  memcpy(buf, reply, reply_len);
  *data_flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
  if (nghttp2_submit_trailer(session, stream_id, trailers, 1) != 0) {
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  }
  return (ssize_t)reply_len;
}

static int on_frame_recv(nghttp2_session *session, const nghttp2_frame *frame, void *user_data) {
  (void)user_data;
  if ((frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
      (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
    if (work_ns > 0) {
      uint64_t until = now_ns() + work_ns;
      while (now_ns() < until) {
      }
    }
    nghttp2_data_provider provider = {.read_callback = read_reply};
    nghttp2_submit_response(session, frame->hd.stream_id, response_headers, 2, &provider);
  }
  return 0;
}

static void drop(client *c) {
  epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  nghttp2_session_del(c->session);
  free(c->out);
  free(c);
}

/* Writes what the session has; returns 0 when the client is gone (and freed). */
static int flush(client *c) {
  for (;;) {
    const uint8_t *chunk;
    ssize_t n = nghttp2_session_mem_send(c->session, &chunk);
    if (n < 0) {
      drop(c);
      return 0;
    }
    if (n == 0) break;
    if (c->out_len + (size_t)n > c->out_cap) {
      while (c->out_len + (size_t)n > c->out_cap) c->out_cap *= 2;
      c->out = realloc(c->out, c->out_cap);
      if (!c->out) fail("realloc");
    }
    memcpy(c->out + c->out_len, chunk, (size_t)n);
    c->out_len += (size_t)n;
  }
  while (c->out_sent < c->out_len) {
    ssize_t w = send(c->fd, c->out + c->out_sent, c->out_len - c->out_sent, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) break;
      drop(c);
      return 0;
    }
    c->out_sent += (size_t)w;
  }
  if (c->out_sent == c->out_len) c->out_len = c->out_sent = 0;
  int want = c->out_len > 0;
  if (want != c->want_out) {
    struct epoll_event ev = {.events = EPOLLIN | (want ? EPOLLOUT : 0), .data.ptr = c};
    epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
    c->want_out = want;
  }
  if (!nghttp2_session_want_read(c->session) && !nghttp2_session_want_write(c->session) &&
      c->out_len == 0) {
    drop(c);
    return 0;
  }
  return 1;
}

static void accept_client(int listener, const nghttp2_session_callbacks *cb) {
  int fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd < 0) return;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  client *c = calloc(1, sizeof *c);
  if (!c) fail("calloc");
  c->fd = fd;
  c->out_cap = 64 * 1024;
  c->out = malloc(c->out_cap);
  if (!c->out || nghttp2_session_server_new(&c->session, cb, c) != 0) fail("session");
  nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 10000},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 16 * 1024 * 1024},
  };
  nghttp2_submit_settings(c->session, NGHTTP2_FLAG_NONE, settings, 2);
  nghttp2_session_set_local_window_size(c->session, NGHTTP2_FLAG_NONE, 0, 64 * 1024 * 1024);
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
  epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
  flush(c);
}

int main(int argc, char **argv) {
  int port = 0;
  long data_bytes = 100;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) port = atoi(argv[++i]);
    else if (strcmp(argv[i], "--data-bytes") == 0 && i + 1 < argc) data_bytes = atol(argv[++i]);
    else if (strcmp(argv[i], "--work-us") == 0 && i + 1 < argc) {
      work_ns = (uint64_t)(atof(argv[++i]) * 1000);
    } else {
      fprintf(stderr, "Usage: responder [--port N] [--data-bytes N] [--work-us N]\n");
      return 2;
    }
  }
  if (data_bytes < 0 || data_bytes > MAX_REPLY - 64) {
    fprintf(stderr, "responder: --data-bytes must be 0..%d\n", MAX_REPLY - 64);
    return 2;
  }
  build_reply((size_t)data_bytes);
  signal(SIGPIPE, SIG_IGN);

  int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (bind(listener, (struct sockaddr *)&addr, sizeof addr) != 0) fail("bind");
  if (listen(listener, 128) != 0) fail("listen");
  socklen_t len = sizeof addr;
  getsockname(listener, (struct sockaddr *)&addr, &len);
  printf("{\"event\":\"listening\",\"grpcPort\":%d}\n", ntohs(addr.sin_port));
  fflush(stdout);

  nghttp2_session_callbacks *cb;
  if (nghttp2_session_callbacks_new(&cb) != 0) fail("callbacks");
  nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
  epfd = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL};
  epoll_ctl(epfd, EPOLL_CTL_ADD, listener, &lev);
  static uint8_t buf[256 * 1024];
  struct epoll_event events[64];
  for (;;) {
    int n = epoll_wait(epfd, events, 64, -1);
    for (int i = 0; i < n; i++) {
      client *c = events[i].data.ptr;
      if (!c) {
        accept_client(listener, cb);
        continue;
      }
      if (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
        ssize_t r = recv(c->fd, buf, sizeof buf, 0);
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
          drop(c);
          continue;
        }
        if (r > 0 && nghttp2_session_mem_recv(c->session, buf, (size_t)r) < 0) {
          drop(c);
          continue;
        }
      }
      flush(c);
    }
  }
}
