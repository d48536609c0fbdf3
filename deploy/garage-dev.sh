#!/usr/bin/env bash
# One-node Garage S3 server on loopback, for development and CI.
#
#   eval "$(deploy/garage-dev.sh)"          # start (or reuse) it and export LMS_TEST_S3_*
#   deploy/garage-dev.sh start [STATE_DIR]  # the same; STATE_DIR defaults to $LMS_GARAGE_DIR
#   deploy/garage-dev.sh stop  [STATE_DIR]  # stop the server started from STATE_DIR
#   deploy/garage-dev.sh reset [STATE_DIR]  # stop it and delete its state (buckets, objects, keys)
#
# Idempotent: a second `start` finds the server answering, the layout applied, the bucket, the key
# and the grants in place, changes nothing and prints the same exports. Only the `export` lines go
# to stdout; everything else goes to stderr.
#
# Settings (environment):
#   LMS_GARAGE_DIR       state directory (config, rpc secret, metadata, data, pid, logs);
#                        default /tmp/lms-garage
#   LMS_GARAGE_S3_PORT   S3 API port on 127.0.0.1 (default 3900)
#   LMS_GARAGE_RPC_PORT  RPC port on 127.0.0.1 (default 3901)
#   GARAGE               the garage binary (default: `garage` on PATH or in ~/.cargo/bin);
#                        install it with `cargo install --locked garage --version 2.5.0`
#
# The access key is a fixed, public test key: never use it outside loopback.
set -euo pipefail

BUCKET=lms
KEY_NAME=lms
KEY_ID=GK6c6d732d6465762d6b657930
KEY_SECRET=f1e93a03eeb6f0f1f1ed9270ae6cdac581a34a8e8c10d749222d267165944551
REGION=garage
S3_PORT="${LMS_GARAGE_S3_PORT:-3900}"
RPC_PORT="${LMS_GARAGE_RPC_PORT:-3901}"
START_DEADLINE_SECS=60

log() { printf 'garage-dev: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

usage() {
    sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

cmd=start
case "${1:-}" in
    start | stop | reset) cmd="$1"; shift ;;
    -h | --help | help) usage ;;
esac
[ $# -le 1 ] || usage
STATE_DIR="${1:-${LMS_GARAGE_DIR:-/tmp/lms-garage}}"

CONFIG="$STATE_DIR/garage.toml"
SECRET_FILE="$STATE_DIR/rpc_secret"
PID_FILE="$STATE_DIR/garage.pid"
LOG_FILE="$STATE_DIR/garage.log"
SETUP_LOG="$STATE_DIR/setup.log"

find_garage() {
    if [ -n "${GARAGE:-}" ]; then
        return
    elif command -v garage >/dev/null 2>&1; then
        GARAGE=garage
    elif [ -x "${CARGO_HOME:-$HOME/.cargo}/bin/garage" ]; then
        GARAGE="${CARGO_HOME:-$HOME/.cargo}/bin/garage"
    else
        die "garage not found: cargo install --locked garage --version 2.5.0"
    fi
}

# The garage CLI with our config; its own output goes to stderr, never into the exports.
g() { "$GARAGE" -c "$CONFIG" "$@"; }
g_quiet() { g "$@" >/dev/null 2>&1; }
# The same for a command that changes the cluster: its output goes to setup.log, shown on failure.
g_logged() {
    echo "\$ garage $*" >>"$SETUP_LOG"
    if g "$@" >>"$SETUP_LOG" 2>&1; then return 0; fi
    tail -n 20 "$SETUP_LOG" >&2
    return 1
}

# Whether a process lives: kill -0 also succeeds on a zombie, which an init that does not reap
# (containers, sandboxes) leaves behind after a crash or a SIGKILL.
alive() {
    kill -0 "$1" 2>/dev/null || return 1
    local stat
    stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 0
    stat="${stat##*) }"
    [ "${stat:0:1}" != Z ]
}

# Pid of the server started from this state dir, if it is still alive and still garage.
running_pid() {
    local pid
    [ -f "$PID_FILE" ] || return 1
    pid="$(cat "$PID_FILE" 2>/dev/null || true)"
    case "$pid" in '' | *[!0-9]*) return 1 ;; esac
    alive "$pid" || return 1
    case "$(cat "/proc/$pid/comm" 2>/dev/null || echo garage)" in garage*) ;; *) return 1 ;; esac
    echo "$pid"
}

answering() { timeout 10 "$GARAGE" -c "$CONFIG" status >/dev/null 2>&1; }

stop_server() {
    local pid
    if ! pid="$(running_pid)"; then
        log "not running (state dir $STATE_DIR)"
        rm -f "$PID_FILE"
        return 0
    fi
    log "stopping garage (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
        alive "$pid" || break
        sleep 0.1
    done
    if alive "$pid"; then
        log "still running after 10 s: SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$PID_FILE"
}

write_config() {
    mkdir -p "$STATE_DIR/meta" "$STATE_DIR/data"
    chmod 700 "$STATE_DIR"
    if [ ! -s "$SECRET_FILE" ]; then
        # 32 random bytes as hex, generated once and kept with the state.
        (umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$SECRET_FILE")
    fi
    local secret tmp
    secret="$(cat "$SECRET_FILE")"
    [[ "$secret" =~ ^[0-9a-f]{64}$ ]] || die "$SECRET_FILE does not hold 64 hex digits"
    tmp="$CONFIG.tmp.$$"
    (
        umask 077
        cat >"$tmp" <<EOF
# Written by deploy/garage-dev.sh: a one-node development/CI server on loopback.
metadata_dir = "$STATE_DIR/meta"
data_dir = "$STATE_DIR/data"
db_engine = "sqlite"
replication_factor = 1

rpc_bind_addr = "127.0.0.1:$RPC_PORT"
rpc_public_addr = "127.0.0.1:$RPC_PORT"
rpc_secret = "$secret"

[s3_api]
s3_region = "$REGION"
api_bind_addr = "127.0.0.1:$S3_PORT"
root_domain = ".s3.garage.localhost"
EOF
    )
    if cmp -s "$tmp" "$CONFIG"; then
        rm -f "$tmp"
    else
        mv -f "$tmp" "$CONFIG"
    fi
}

start_server() {
    local pid deadline
    if answering; then
        log "already answering (state dir $STATE_DIR)"
        return 0
    fi
    if ! pid="$(running_pid)"; then
        log "starting garage server (state dir $STATE_DIR, S3 on 127.0.0.1:$S3_PORT)"
        # setsid: the server outlives this script and ignores the caller's Ctrl-C.
        RUST_LOG="${LMS_GARAGE_LOG:-garage=info}" NO_COLOR=1 \
            setsid "$GARAGE" -c "$CONFIG" server </dev/null >>"$LOG_FILE" 2>&1 &
        pid=$!
        echo "$pid" >"$PID_FILE"
    fi
    deadline=$((SECONDS + START_DEADLINE_SECS))
    until answering; do
        if ! alive "$pid"; then
            rm -f "$PID_FILE"
            tail -n 30 "$LOG_FILE" >&2 || true
            die "garage server exited (log: $LOG_FILE)"
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            tail -n 30 "$LOG_FILE" >&2 || true
            die "garage status did not answer within ${START_DEADLINE_SECS}s (log: $LOG_FILE)"
        fi
        sleep 0.2
    done
    log "garage answering (pid $pid)"
}

# Run a cluster-changing command, retrying briefly while a fresh layout settles.
retry() {
    for _ in $(seq 1 25); do
        echo "\$ garage $*" >>"$SETUP_LOG"
        if g "$@" >>"$SETUP_LOG" 2>&1; then return 0; fi
        sleep 0.2
    done
    tail -n 20 "$SETUP_LOG" >&2
    die "failed: garage $*"
}

layout_version() {
    g layout show 2>/dev/null | sed -n 's/^Current cluster layout version: *\([0-9]\{1,\}\).*/\1/p'
}

configure() {
    local version node_id
    version="$(layout_version || true)"
    [ -n "$version" ] || die "cannot read the cluster layout version"
    if [ "$version" = 0 ]; then
        node_id="$(g node id -q 2>/dev/null || true)"
        node_id="${node_id%%@*}"
        [[ "$node_id" =~ ^[0-9a-f]{64}$ ]] || die "cannot read the node id"
        log "assigning layout to node ${node_id:0:16}"
        g_logged layout assign -z dc1 -c 1G "$node_id" || die "layout assign failed"
        g_logged layout apply --version 1 || die "layout apply failed"
    fi
    if ! g_quiet bucket info "$BUCKET"; then
        log "creating bucket $BUCKET"
        retry bucket create "$BUCKET"
    fi
    if ! g_quiet key info "$KEY_ID"; then
        log "importing test key $KEY_ID"
        retry key import --yes -n "$KEY_NAME" "$KEY_ID" "$KEY_SECRET"
    fi
    if ! g bucket info "$BUCKET" 2>/dev/null | grep -Eq "^RWO +$KEY_ID( |\$)"; then
        log "granting read/write/owner on $BUCKET to $KEY_ID"
        retry bucket allow --read --write --owner "$BUCKET" --key "$KEY_ID"
    fi
}

# A signed HEAD on the bucket: the S3 API answers and the key may use the bucket.
check_s3() {
    command -v curl >/dev/null 2>&1 || return 0
    local code
    for _ in $(seq 1 50); do
        # Garage requires x-amz-content-sha256, which curl does not send on its own.
        code="$(curl -s -o /dev/null -w '%{http_code}' -I \
            -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' --aws-sigv4 "aws:amz:$REGION:s3" --user "$KEY_ID:$KEY_SECRET" \
            "http://127.0.0.1:$S3_PORT/$BUCKET" || true)"
        [ "$code" = 200 ] && return 0
        sleep 0.2
    done
    die "S3 HEAD http://127.0.0.1:$S3_PORT/$BUCKET answered ${code:-nothing}, not 200 (log: $LOG_FILE)"
}

print_exports() {
    cat <<EOF
export LMS_TEST_S3_ENDPOINT=http://127.0.0.1:$S3_PORT
export LMS_TEST_S3_REGION=$REGION
export LMS_TEST_S3_BUCKET=$BUCKET
export LMS_TEST_S3_ACCESS_KEY_ID=$KEY_ID
export LMS_TEST_S3_SECRET_ACCESS_KEY=$KEY_SECRET
EOF
}

case "$cmd" in
    stop)
        stop_server
        ;;
    reset)
        stop_server
        # Only what this script creates: never a blind rm -rf of a directory given on the command line.
        rm -rf "$STATE_DIR/meta" "$STATE_DIR/data"
        rm -f "$CONFIG" "$SECRET_FILE" "$LOG_FILE" "$SETUP_LOG" "$PID_FILE"
        rmdir "$STATE_DIR" 2>/dev/null || true
        log "state removed ($STATE_DIR)"
        ;;
    start)
        find_garage
        write_config
        start_server
        configure
        check_s3
        log "ready: bucket $BUCKET at http://127.0.0.1:$S3_PORT (region $REGION)"
        print_exports
        ;;
esac
