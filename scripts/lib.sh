# shellcheck shell=bash
# Shared helpers for scripts/run, scripts/test and .ci/run. Source it; don't execute it.
#
#   ensure_packages        installs what the build and the local database need (Debian)
#   ensure_local_postgres  starts a project-local PostgreSQL in .data/ and exports DATABASE_URL
#   ensure_schemathesis    installs the pinned schemathesis into .data/ (the OpenAPI test)
#
# Everything is relative to the project root (SWITCHBOARD_ROOT), whatever the caller's cwd.

SWITCHBOARD_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
export SWITCHBOARD_ROOT

# rustup installs into ~/.cargo/bin, which a non-login shell (CI, cron, sudo) may not have.
if ! command -v cargo >/dev/null 2>&1 && [ -x "${CARGO_HOME:-$HOME/.cargo}/bin/cargo" ]; then
    PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
    export PATH
fi

sb_log() { printf '==> %s\n' "$*" >&2; }
sb_die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}

# Runs a command as root: directly when we are root, else through sudo when there is one.
sb_as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        sb_die "need root to run: $* (install sudo or run as root)"
    fi
}

# Prints the version of the PostgreSQL binaries in directory $1 (e.g. "15.20"), or nothing.
sb_pg_dir_version() {
    [ -x "$1/pg_ctl" ] && [ -x "$1/initdb" ] || return 1
    "$1/pg_ctl" --version 2>/dev/null | sed -n 's/^pg_ctl (PostgreSQL) \([0-9][0-9.]*\).*/\1/p'
}

# Prints the directory holding the PostgreSQL server binaries (initdb, pg_ctl) of the highest
# version found on PATH or under /usr/lib/postgresql/*/bin. With a major version as $1, that
# version's directory is preferred (an existing cluster must be started by its own version).
sb_pg_bindir() {
    local want="${1:-}" candidates=() dir best="" best_version="" version tool
    if [ -n "$want" ] && [ -x "/usr/lib/postgresql/$want/bin/pg_ctl" ]; then
        echo "/usr/lib/postgresql/$want/bin"
        return 0
    fi
    for tool in pg_ctl initdb; do
        if command -v "$tool" >/dev/null 2>&1; then
            candidates+=("$(dirname "$(readlink -f "$(command -v "$tool")")")")
        fi
    done
    for dir in /usr/lib/postgresql/*/bin; do
        [ -d "$dir" ] && candidates+=("$dir")
    done
    for dir in "${candidates[@]}"; do
        version="$(sb_pg_dir_version "$dir")" || continue
        [ -n "$version" ] || continue
        if [ -z "$best" ] || [ "$(printf '%s\n%s\n' "$best_version" "$version" | sort -V | tail -n1)" != "$best_version" ]; then
            best="$dir"
            best_version="$version"
        fi
    done
    [ -n "$best" ] || return 1
    echo "$best"
}

# Makes sure cargo, a C toolchain, libpq (headers and pg_config, for diesel) and the PostgreSQL
# server binaries are present. On Debian/Ubuntu it apt-get installs what is missing; elsewhere
# it names what is missing. Silent when nothing is needed.
ensure_packages() {
    if ! command -v cargo >/dev/null 2>&1; then
        cat >&2 <<'EOF'
error: cargo (Rust) is not installed.
Switchboard needs a Rust toolchain installed with rustup: https://rustup.rs
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh
then open a new shell (or `. "$HOME/.cargo/env"`) and run this script again.
EOF
        exit 1
    fi

    local missing=() packages=()
    if ! sb_pg_bindir >/dev/null; then
        missing+=("PostgreSQL server (initdb, pg_ctl)")
        packages+=(postgresql)
    fi
    if ! command -v pg_config >/dev/null 2>&1 || ! [ -f /usr/include/postgresql/libpq-fe.h ]; then
        # pg_config alone is enough where libpq lives elsewhere (macOS, custom builds).
        if ! command -v pg_config >/dev/null 2>&1 || ! [ -f "$(pg_config --includedir 2>/dev/null)/libpq-fe.h" ]; then
            missing+=("libpq headers and pg_config")
            packages+=(libpq-dev)
        fi
    fi
    if ! command -v cc >/dev/null 2>&1 && ! command -v gcc >/dev/null 2>&1; then
        missing+=("a C compiler and linker")
        packages+=(gcc libc6-dev)
    fi
    [ ${#packages[@]} -eq 0 ] && return 0

    if ! command -v apt-get >/dev/null 2>&1; then
        sb_die "missing: ${missing[*]}. Install PostgreSQL (server and libpq development files) and a C compiler with your package manager, then run this again."
    fi
    sb_log "installing missing packages: ${packages[*]} (for: ${missing[*]})"
    sb_as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq \
        || sb_die "apt-get update failed"
    sb_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null \
        || sb_die "apt-get install ${packages[*]} failed"
    if [[ " ${packages[*]} " == *" postgresql "* ]] && ! sb_pg_bindir >/dev/null; then
        sb_die "PostgreSQL was installed but initdb/pg_ctl were not found under /usr/lib/postgresql/*/bin"
    fi
}

# Installs Debian's Chromium and ChromeDriver for the browser tests when they are missing
# (tests/browser.rs drives /usr/bin/chromium through /usr/bin/chromedriver).
ensure_browser() {
    # The emoji font too: without it reactions, 👍/👎 and ticks render as empty boxes in
    # the screenshots a person reviews.
    if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1 \
        && [ -e /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ]; then
        return 0
    fi
    command -v apt-get >/dev/null 2>&1 \
        || sb_die "the browser tests need Chromium and ChromeDriver (Debian: apt-get install chromium chromium-driver)"
    sb_log "installing chromium and chromium-driver for the browser tests"
    sb_as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq \
        || sb_die "apt-get update failed"
    sb_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium chromium-driver fonts-noto-color-emoji >/dev/null \
        || sb_die "apt-get install chromium chromium-driver failed"
}

# Runs a PostgreSQL server command as the cluster's owner: the `postgres` system user when we
# are root (initdb and postgres refuse to run as root), else ourselves.
sb_pg_run() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

# Quotes a value for postgresql.conf.
sb_pg_conf_quote() { printf "'%s'" "${1//\'/\'\'}"; }

# Starts (or reuses) the project's own PostgreSQL cluster and exports DATABASE_URL for its
# `switchboard` database. Also exports SWITCHBOARD_PG_PORT (the port actually in use) and
# SWITCHBOARD_PG_ADMIN_URL (the cluster's `postgres` database, for tools that create databases).
#
#   data dir   .data/pg            log     .data/pg.log
#   socket     .data/pg-socket     listen  127.0.0.1:${SWITCHBOARD_PG_PORT:-54329} only
#   auth       trust (local only)  superuser `postgres`
#
# As root, the cluster belongs to the `postgres` system user (initdb refuses to run as root).
ensure_local_postgres() {
    local port="${SWITCHBOARD_PG_PORT:-54329}"
    local base="$SWITCHBOARD_ROOT/.data"
    local as_root=0 owner
    if [ "$(id -u)" -eq 0 ]; then
        as_root=1
        id postgres >/dev/null 2>&1 \
            || sb_die "running as root, but there is no 'postgres' system user to own the local database (apt-get install postgresql creates it)"
        mkdir -p "$base"
        chmod a+x "$base"
        # The postgres user must be able to reach .data/ (a checkout under /root is not).
        if ! runuser -u postgres -- test -x "$base"; then
            base="${TMPDIR:-/tmp}/switchboard-pg-$(printf '%s' "$SWITCHBOARD_ROOT" | cksum | cut -d' ' -f1)"
            sb_log "the postgres user cannot reach $SWITCHBOARD_ROOT/.data; keeping the local database in $base"
        fi
    fi
    local data="$base/pg" sock="$base/pg-socket" logfile="$base/pg.log"
    # A unix socket path must fit in ~107 bytes.
    if [ $((${#sock} + 20)) -gt 100 ]; then
        sock="${TMPDIR:-/tmp}/switchboard-pg-socket-$(printf '%s' "$data" | cksum | cut -d' ' -f1)"
    fi

    mkdir -p "$base" "$data" "$sock"
    touch "$logfile"
    chmod 700 "$data"
    if [ "$as_root" -eq 1 ]; then
        chown postgres:postgres "$data" "$sock" "$logfile"
        owner="$(stat -c %U "$data")"
        [ "$owner" = postgres ] || sb_die "$data must belong to the postgres user"
    fi

    local major="" bindir
    [ -f "$data/PG_VERSION" ] && major="$(cat "$data/PG_VERSION")"
    bindir="$(sb_pg_bindir "$major")" \
        || sb_die "no PostgreSQL server binaries (initdb, pg_ctl) found; run ensure_packages first"

    if [ ! -f "$data/PG_VERSION" ]; then
        sb_log "initialising a local PostgreSQL cluster in $data"
        sb_pg_run "$bindir/initdb" -D "$data" -U postgres --auth=trust -E UTF8 \
            --locale=C.UTF-8 >>"$logfile" 2>&1 \
            || sb_pg_run "$bindir/initdb" -D "$data" -U postgres --auth=trust -E UTF8 \
                --locale=C >>"$logfile" 2>&1 \
            || sb_die "initdb failed; see $logfile"
        if ! grep -q "switchboard.conf" "$data/postgresql.conf"; then
            printf "\ninclude_if_exists = 'switchboard.conf'\n" >>"$data/postgresql.conf"
        fi
    fi

    if sb_pg_run "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        # Already running: use the port it listens on (line 4 of postmaster.pid).
        local running_port
        running_port="$(sed -n 4p "$data/postmaster.pid" 2>/dev/null)"
        if [ -n "$running_port" ] && [ "$running_port" != "$port" ]; then
            sb_log "the local PostgreSQL is already running on port $running_port (not $port); using it. Stop it with: $bindir/pg_ctl -D $data stop"
            port="$running_port"
        fi
    else
        # Another server (e.g. a second checkout's cluster) may hold the default port: unless
        # the port was chosen explicitly, take the next free one.
        if [ -z "${SWITCHBOARD_PG_PORT:-}" ]; then
            local tries=0
            while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
                tries=$((tries + 1))
                [ "$tries" -lt 50 ] || sb_die "no free port for the local PostgreSQL between 54329 and $port; set SWITCHBOARD_PG_PORT"
                port=$((port + 1))
            done
        fi
        # Settings are rewritten at every start, so a new SWITCHBOARD_PG_PORT takes effect.
        {
            echo "# Written by scripts/lib.sh at every start of the project-local cluster."
            echo "listen_addresses = '127.0.0.1'"
            echo "port = $port"
            echo "unix_socket_directories = $(sb_pg_conf_quote "$sock")"
            echo "max_connections = 200"
            # synchronous_commit stays on: a webhook is acknowledged only once it is on disk.
        } >"$data/switchboard.conf"
        if [ "$as_root" -eq 1 ]; then chown postgres:postgres "$data/switchboard.conf"; fi
        sb_log "starting the local PostgreSQL on 127.0.0.1:$port (log: $logfile)"
        if ! sb_pg_run "$bindir/pg_ctl" -D "$data" -l "$logfile" -w -t 30 start >/dev/null 2>&1; then
            tail -n 20 "$logfile" >&2 || true
            sb_die "the local PostgreSQL did not start on port $port; see $logfile (is the port taken? set SWITCHBOARD_PG_PORT)"
        fi
    fi

    local isready="$bindir/pg_isready" psql="$bindir/psql" i
    [ -x "$isready" ] || isready="pg_isready"
    [ -x "$psql" ] || psql="psql"
    for i in $(seq 1 60); do
        "$isready" -q -h 127.0.0.1 -p "$port" && break
        if [ "$i" -eq 60 ]; then
            tail -n 20 "$logfile" >&2 || true
            sb_die "the local PostgreSQL on 127.0.0.1:$port is not ready after 30 s; see $logfile"
        fi
        sleep 0.5
    done

    local exists
    exists="$("$psql" -X -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname = 'switchboard'")" \
        || sb_die "cannot connect to the local PostgreSQL on 127.0.0.1:$port as postgres; see $logfile"
    if [ "$exists" != 1 ]; then
        "$psql" -X -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -c "CREATE DATABASE switchboard" >/dev/null \
            || sb_die "cannot create the database 'switchboard' on 127.0.0.1:$port"
        sb_log "created database 'switchboard'"
    fi

    export SWITCHBOARD_PG_PORT="$port"
    export SWITCHBOARD_PG_DATA="$data"
    export SWITCHBOARD_PG_BINDIR="$bindir"
    export SWITCHBOARD_PG_ADMIN_URL="postgres://postgres@127.0.0.1:$port/postgres"
    export DATABASE_URL="postgres://postgres@127.0.0.1:$port/switchboard"
}

# Stops the project-local cluster, if it runs (for cleanup; nothing calls it by default).
stop_local_postgres() {
    local data="${SWITCHBOARD_PG_DATA:-$SWITCHBOARD_ROOT/.data/pg}" major="" bindir
    [ -f "$data/PG_VERSION" ] || return 0
    major="$(cat "$data/PG_VERSION")"
    bindir="$(sb_pg_bindir "$major")" || return 0
    sb_pg_run "$bindir/pg_ctl" -D "$data" -m fast stop >/dev/null 2>&1 || true
}

# Sets up the environment `switchboard` runs with locally, keeping every local file under
# .data/: the project-local PostgreSQL (unless DATABASE_URL is set), SECRET_KEY_BASE
# generated once into .data/secret_key_base, FRONTEND_URL, media in .data/storage and emails
# in .data/mail. Variables already set win. Sets SB_DATABASE_DESC for banners.
sb_runtime_env() {
    SB_DATABASE_DESC="DATABASE_URL as set"
    if [ -z "${DATABASE_URL:-}" ]; then
        ensure_local_postgres
        SB_DATABASE_DESC="local PostgreSQL, 127.0.0.1:$SWITCHBOARD_PG_PORT/switchboard"
    fi
    # .data/ stays traversable: as root, the local cluster in .data/pg belongs to the postgres
    # user. The secrets in it are files of mode 600.
    mkdir -p "$SWITCHBOARD_ROOT/.data"
    export FRONTEND_URL="${FRONTEND_URL:-http://127.0.0.1:${PORT:-3000}}"
    if [ -z "${SECRET_KEY_BASE:-}" ]; then
        local keyfile="$SWITCHBOARD_ROOT/.data/secret_key_base"
        if [ ! -s "$keyfile" ]; then
            (
                umask 077
                if command -v openssl >/dev/null 2>&1; then
                    openssl rand -hex 64
                else
                    head -c 64 /dev/urandom | od -An -tx1 | tr -d ' \n'
                    echo
                fi >"$keyfile.tmp"
            )
            mv "$keyfile.tmp" "$keyfile"
            sb_log "generated SECRET_KEY_BASE in .data/secret_key_base"
        fi
        chmod 600 "$keyfile"
        SECRET_KEY_BASE="$(tr -d ' \n' <"$keyfile")"
        export SECRET_KEY_BASE
    fi
    export STORAGE_DIR="${STORAGE_DIR:-$SWITCHBOARD_ROOT/.data/storage}"
    export MAIL_DIR="${MAIL_DIR:-$SWITCHBOARD_ROOT/.data/mail}"
}

# Builds the release binary (incrementally) and prints its path.
sb_release_binary() {
    sb_log "building switchboard (release)"
    (cd "$SWITCHBOARD_ROOT" && cargo build --release --bin switchboard >&2)
    local target="${CARGO_TARGET_DIR:-$SWITCHBOARD_ROOT/target}"
    case "$target" in /*) ;; *) target="$SWITCHBOARD_ROOT/$target" ;; esac
    printf '%s\n' "$target/release/switchboard"
}

# Installs the npm packages of package-lock.json (the emoji list the server serves to the
# composer's picker, and test tooling: axe-core for the browser tests' accessibility checks)
# with `npm ci` when node_modules/ is missing or older than the lockfile; installs Debian's
# nodejs and npm first when there is no npm. scripts/run and scripts/test both call it.
ensure_node_modules() {
    if ! command -v npm >/dev/null 2>&1; then
        command -v apt-get >/dev/null 2>&1 \
            || sb_die "Switchboard needs Node.js and npm to install its emoji data and test tooling (Debian: apt-get install nodejs npm)"
        sb_log "installing nodejs and npm (emoji data, test tooling)"
        sb_as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq \
            || sb_die "apt-get update failed"
        sb_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null \
            || sb_die "apt-get install nodejs npm failed"
    fi
    local stamp="$SWITCHBOARD_ROOT/node_modules/.package-lock.json"
    if [ ! -f "$stamp" ] || [ "$SWITCHBOARD_ROOT/package-lock.json" -nt "$stamp" ]; then
        sb_log "installing npm packages from package-lock.json (npm ci)"
        (cd "$SWITCHBOARD_ROOT" && npm ci --no-audit --no-fund >&2) || sb_die "npm ci failed"
    fi
}

# Makes sure a real S3-compatible server is available for the object-storage tests
# (tests/storage*.rs): the server mode of the PyPI package moto (`moto_server`). Uses one on
# PATH when it runs, else installs `moto[server]` into the project-local virtualenv
# .data/moto (Debian's python3-venv first when needed). Exports MOTO_SERVER, which the tests
# start on a free loopback port.
ensure_s3_server() {
    local venv="$SWITCHBOARD_ROOT/.data/moto"
    if [ -n "${MOTO_SERVER:-}" ] && [ -x "$MOTO_SERVER" ]; then
        return 0
    fi
    if [ -x "$venv/bin/moto_server" ]; then
        export MOTO_SERVER="$venv/bin/moto_server"
        return 0
    fi
    if command -v moto_server >/dev/null 2>&1 && moto_server --help >/dev/null 2>&1; then
        MOTO_SERVER="$(command -v moto_server)"
        export MOTO_SERVER
        return 0
    fi
    if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
        command -v apt-get >/dev/null 2>&1 \
            || sb_die "the storage tests need Python 3 with venv to install moto's S3 server (pip install 'moto[server]')"
        sb_log "installing python3-venv for the S3 test server"
        sb_as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq \
            || sb_die "apt-get update failed"
        sb_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv python3-pip >/dev/null \
            || sb_die "apt-get install python3-venv failed"
    fi
    sb_log "installing moto[server] (the S3 test server) into .data/moto"
    mkdir -p "$SWITCHBOARD_ROOT/.data"
    python3 -m venv "$venv" || sb_die "python3 -m venv $venv failed"
    "$venv/bin/pip" install --quiet 'moto[server]>=5,<6' >&2 || sb_die "pip install moto[server] failed"
    export MOTO_SERVER="$venv/bin/moto_server"
}

# The pinned schemathesis (PyPI) that tests/api/openapi.rs runs against the OpenAPI document,
# installed into .data/schemathesis (a venv); exports SCHEMATHESIS. `$SCHEMATHESIS` set to an
# executable is used as it is.
SB_SCHEMATHESIS_VERSION="4.32.5"
ensure_schemathesis() {
    local venv="$SWITCHBOARD_ROOT/.data/schemathesis"
    if [ -n "${SCHEMATHESIS:-}" ] && [ -x "$SCHEMATHESIS" ]; then
        return 0
    fi
    if [ -x "$venv/bin/schemathesis" ] \
        && [ "$("$venv/bin/schemathesis" --version 2>/dev/null | awk '{print $NF}')" = "$SB_SCHEMATHESIS_VERSION" ]; then
        export SCHEMATHESIS="$venv/bin/schemathesis"
        return 0
    fi
    if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
        command -v apt-get >/dev/null 2>&1 \
            || sb_die "the OpenAPI tests need Python 3 with venv to install schemathesis (pip install schemathesis==$SB_SCHEMATHESIS_VERSION)"
        sb_log "installing python3-venv for schemathesis"
        sb_as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq \
            || sb_die "apt-get update failed"
        sb_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv python3-pip >/dev/null \
            || sb_die "apt-get install python3-venv failed"
    fi
    sb_log "installing schemathesis $SB_SCHEMATHESIS_VERSION into .data/schemathesis"
    mkdir -p "$SWITCHBOARD_ROOT/.data"
    python3 -m venv "$venv" || sb_die "python3 -m venv $venv failed"
    "$venv/bin/pip" install --quiet "schemathesis==$SB_SCHEMATHESIS_VERSION" >&2 \
        || sb_die "pip install schemathesis==$SB_SCHEMATHESIS_VERSION failed"
    export SCHEMATHESIS="$venv/bin/schemathesis"
}
