# memcoro as a container: `docker build -t memcoro .`, then
#   docker run -p 11211:11211 -p 11212:11212 memcoro          (memcached's defaults)
#   docker run -p 11211:11211 memcoro -m 1024 -t 8            (memcached's flags)
# See README.md, "Deploy".

# Build stage: the release server only (no tests, no benchmarks).
FROM debian:bookworm AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      g++ cmake ninja-build libboost1.81-dev libabsl-dev nlohmann-json3-dev libssl-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt ./
COPY apps apps
COPY benchmarks benchmarks
COPY lib lib
# -O2 as the release build, without the debug information that strip would
# remove anyway (less compile time: the image test builds it in CI).
RUN cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -DNDEBUG" -DMEMCORO_TESTS=OFF \
 && cmake --build build --target memcoro \
 && strip --strip-unneeded -o /memcoro build/apps/memcoro/memcoro

# Runtime stage: the binary and the library packages it links (Abseil, OpenSSL).
FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libabsl20220623 libssl3 \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log \
 && useradd --system --uid 11211 --user-group --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin memcoro \
 && mkdir -p /etc/memcoro
COPY --from=build /memcoro /usr/bin/memcoro
# Inside its own network namespace, memcoro listens on every interface, as
# memcached does. The admin port then serves reads (metrics, probes, stats)
# to other hosts; changes need the token (MEMCORO_ADMIN_TOKEN_FILE names a
# mounted secret) or a client on the container's own loopback.
ENV MEMCORO_LISTEN=0.0.0.0 \
    MEMCORO_ADMIN_LISTEN=0.0.0.0 \
    MEMCORO_CONFIG=/etc/memcoro/memcoro.json
USER memcoro
EXPOSE 11211 11212
HEALTHCHECK --interval=10s --timeout=5s --start-period=5s --retries=3 \
  CMD ["memcoro", "--health-check"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["memcoro"]
# memcached's defaults, spelled out; `docker run memcoro -m 1024` replaces them.
CMD ["-p", "11211", "-m", "64", "-c", "1024", "-t", "4"]
