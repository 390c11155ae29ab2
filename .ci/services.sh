# Sourced by .ci/run before the tests: installs (if needed) and starts PostgreSQL from Debian's
# packages on 127.0.0.1 in a temporary directory, and exports AUTOPEFT_TEST_POSTGRES_URL.
#   source .ci/services.sh        # start; `autopeft_services_stop` stops it (also on shell exit)
# Needs root (apt-get, and runuser to run the server as the `postgres` user) or an existing
# postgres install plus a non-root user. On failure it prints why and leaves the URL unset, so
# the PostgreSQL tests skip instead of failing the whole run.

autopeft_services_start() {
    local bindir port
    if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
        if [ "$(id -u)" = 0 ]; then
            echo "services: installing PostgreSQL from Debian's packages" >&2
            DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null &&
                DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null || {
                echo "services: apt-get install postgresql failed; PostgreSQL tests will skip" >&2
                return 0
            }
        else
            echo "services: PostgreSQL is not installed and we are not root; PostgreSQL tests will skip" >&2
            return 0
        fi
    fi
    bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
    AUTOPEFT_PG_DIR=$(mktemp -d /tmp/autopeft-pg.XXXXXX)
    chmod 755 "$AUTOPEFT_PG_DIR"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
    local as_pg=()
    if [ "$(id -u)" = 0 ]; then
        chown postgres:postgres "$AUTOPEFT_PG_DIR"
        as_pg=(runuser -u postgres --)
    fi
    "${as_pg[@]}" "$bindir/initdb" -D "$AUTOPEFT_PG_DIR/data" -U autopeft --auth=trust -E UTF8 >"$AUTOPEFT_PG_DIR/initdb.log" 2>&1 || {
        echo "services: initdb failed (see $AUTOPEFT_PG_DIR/initdb.log); PostgreSQL tests will skip" >&2
        return 0
    }
    "${as_pg[@]}" "$bindir/pg_ctl" -D "$AUTOPEFT_PG_DIR/data" -l "$AUTOPEFT_PG_DIR/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$AUTOPEFT_PG_DIR -c fsync=off" start >/dev/null || {
        echo "services: pg_ctl start failed (see $AUTOPEFT_PG_DIR/server.log); PostgreSQL tests will skip" >&2
        return 0
    }
    "${as_pg[@]}" "$bindir/createdb" -h 127.0.0.1 -p "$port" -U autopeft autopeft_test || {
        echo "services: createdb failed; PostgreSQL tests will skip" >&2
        return 0
    }
    AUTOPEFT_PG_BINDIR=$bindir
    AUTOPEFT_PG_AS=("${as_pg[@]}")
    export AUTOPEFT_TEST_POSTGRES_URL="postgresql+psycopg://autopeft@127.0.0.1:$port/autopeft_test"
    echo "services: PostgreSQL on 127.0.0.1:$port (data in $AUTOPEFT_PG_DIR)" >&2
    trap autopeft_services_stop EXIT
}

autopeft_services_stop() {
    if [ -n "${AUTOPEFT_PG_DIR:-}" ] && [ -d "$AUTOPEFT_PG_DIR/data" ]; then
        "${AUTOPEFT_PG_AS[@]}" "$AUTOPEFT_PG_BINDIR/pg_ctl" -D "$AUTOPEFT_PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
        rm -rf "$AUTOPEFT_PG_DIR"
    fi
    unset AUTOPEFT_TEST_POSTGRES_URL AUTOPEFT_PG_DIR
}

autopeft_services_start
