#!/usr/bin/env bash
# Installs what Rialto needs on a Debian machine, and nothing that is already there.
#   scripts/bootstrap.sh          runtime only: the pinned Deno and librocksdb
#   scripts/bootstrap.sh --test   also what the test suite talks to (ldb, db_bench,
#                                 h2load, nghttp, nghttpd, python3-grpcio, ZooKeeper, openssl,
#                                 protoc, protobuf-java and javac for the Java wire test,
#                                 and npm's rocksdb-native for RocksDB 10.5 files)
#   scripts/bootstrap.sh --bench  also what `deno task bench` builds its C load
#                                 generator with (gcc, libnghttp2-dev, libssl-dev for
#                                 --tls, openssl for its throwaway PKI) and h2load for
#                                 --compare-clients; none of the test-only packages
# Without root it installs nothing from apt and prints the command to run instead.
set -euo pipefail
cd "$(dirname "$0")/.."

runtime_packages=(librocksdb7.8 libzstd1)
test_packages=(rocksdb-tools nghttp2-client nghttp2-server python3-grpcio zookeeper openssl curl zstd gzip
  protobuf-compiler libprotobuf-java openjdk-17-jdk-headless
  libgrpc-java libperfmark-java protobuf-compiler-grpc-java-plugin libavro-java libzstd-jni-java)
bench_packages=(gcc libc6-dev libnghttp2-dev libssl-dev openssl nghttp2-client)

want=("${runtime_packages[@]}")
case "${1:-}" in
  "") ;;
  --test) want+=("${test_packages[@]}") ;;
  --bench) want+=("${bench_packages[@]}") ;;
  *)
    echo "bootstrap: unknown mode \"$1\" (use --test or --bench)" >&2
    exit 2
    ;;
esac

missing=()
for pkg in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]})); then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "bootstrap: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "bootstrap: missing Debian packages: ${missing[*]}" >&2
    echo "bootstrap: run: sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

# The pinned Deno comes from the npm package `deno` (tools/deno/package.json).
if ! tools/deno/node_modules/.bin/deno --version 2>/dev/null | grep -q '^deno 2\.8\.3 '; then
  echo "bootstrap: installing the pinned Deno (npm install --prefix tools/deno)" >&2
  # npm install, not npm ci: the lock holds only this platform's binary package (the
  # others are optional, and the registry here has no 2.8.3 for some platforms).
  npm install --prefix tools/deno --no-audit --no-fund >/dev/null
fi

# Test-only: a newer RocksDB (npm's rocksdb-native, 10.5) that tests/rocksdb_versions_test.ts
# runs under Node to write files in formats newer than Debian's 7.8.
if [[ "${1:-}" == "--test" ]] && [[ ! -f tools/rocksdb10/node_modules/rocksdb-native/package.json ]]; then
  echo "bootstrap: installing the test-only RocksDB 10.5 (npm ci --prefix tools/rocksdb10)" >&2
  npm ci --prefix tools/rocksdb10 --no-audit --no-fund >/dev/null
fi
