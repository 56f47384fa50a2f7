#!/usr/bin/env bash
# A real S3 server for tests: Ceph's radosgw (RGW) on a single-node cluster on
# 127.0.0.1 (one mon, one memstore OSD, no mgr, auth none), in a temp folder.
# Facts and pitfalls: ../shared/OBJECT_STORE.md.
#
#   scripts/ceph_rgw.sh install       apt-get the Ceph packages when a binary is missing (root)
#   eval "$(scripts/ceph_rgw.sh start)"   start; prints export lines (stdout only)
#   scripts/ceph_rgw.sh env [DIR]     print the export lines of a running instance again
#   scripts/ceph_rgw.sh stop [DIR]    kill its daemons and remove its folder
#
# start prints AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
# AWS_REGION, DSM_TEST_S3_URL (s3://bucket/prefix) and DSM_RGW_DIR (the folder
# stop and env default to). Messages go to stderr. Every wait has a deadline.
set -euo pipefail

BINARIES=(ceph-mon ceph-osd radosgw radosgw-admin ceph monmaptool)
PACKAGES=(ceph-mon ceph-osd radosgw ceph-common)
ACCESS_KEY=DSMTESTACCESSKEY0001
SECRET_KEY=dsmTestSecretKey0000000000000000000000001
BUCKET=dsm-test
PREFIX=dsm
REGION=us-east-1
MARKER=.dsm-ceph-rgw

say() { echo "ceph_rgw: $*" >&2; }
die() {
  say "error: $*"
  exit 1
}

missing_binaries() {
  local b out=()
  for b in "${BINARIES[@]}"; do command -v "$b" >/dev/null 2>&1 || out+=("$b"); done
  echo "${out[*]:-}"
}

cmd_install() {
  local missing
  missing=$(missing_binaries)
  if [ -z "$missing" ]; then
    say "Ceph is installed ($(ceph --version 2>/dev/null | cut -d' ' -f1-3))"
    return 0
  fi
  say "missing: $missing; installing ${PACKAGES[*]}"
  [ "$(id -u)" -eq 0 ] || die "cannot install Ceph: apt-get needs root (run as root, or install ${PACKAGES[*]} first)"
  command -v apt-get >/dev/null 2>&1 || die "cannot install Ceph: apt-get not found (a Debian-like system is needed)"
  export DEBIAN_FRONTEND=noninteractive
  timeout 300 apt-get update -qq >&2 || die "apt-get update failed or took over 300 s"
  timeout 600 apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >&2 ||
    die "apt-get install ${PACKAGES[*]} failed or took over 600 s"
  missing=$(missing_binaries)
  [ -z "$missing" ] || die "still missing after the install: $missing"
  say "installed $(ceph --version | cut -d' ' -f1-3)"
}

# A port with no listener on 127.0.0.1 (and the next one, with $2 = 2).
free_port() {
  local count=${1:-1} tries port i busy
  for tries in $(seq 1 200); do
    port=$((20000 + RANDOM % 40000))
    busy=0
    for ((i = 0; i < count; i++)); do
      if (exec 3<>"/dev/tcp/127.0.0.1/$((port + i))") 2>/dev/null; then busy=1; fi
    done
    [ "$busy" -eq 0 ] && {
      echo "$port"
      return 0
    }
  done
  die "no free port found on 127.0.0.1"
}

# wait_for SECONDS WHAT COMMAND...: runs COMMAND every 0.2 s until it succeeds.
wait_for() {
  local seconds=$1 what=$2 deadline
  shift 2
  deadline=$(($(date +%s) + seconds))
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    sleep 0.2
  done
  say "$what"
}

# A signed S3 request as the test user: curl_s3 METHOD PATH [curl args...]; prints the status.
curl_s3() {
  local method=$1 path=$2
  shift 2
  curl -sS -o /dev/null -w '%{http_code}' --max-time 5 -X "$method" \
    --aws-sigv4 "aws:amz:${REGION}:s3" --user "${ACCESS_KEY}:${SECRET_KEY}" \
    -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' "$@" "${ENDPOINT}${path}"
}

list_buckets_ok() { [ "$(curl_s3 GET /)" = 200 ]; }
bucket_ok() { [ "$(curl_s3 HEAD "/${BUCKET}" -I)" = 200 ]; }

# Last log lines of a failed step.
show_logs() {
  local f
  for f in "$DIR"/log/*.log; do
    [ -f "$f" ] || continue
    say "--- last lines of $f"
    tail -n 15 "$f" >&2 || true
  done
}

fail_start() {
  say "error: $*"
  show_logs
  cmd_stop "$DIR" || true
  exit 1
}

write_conf() {
  cat >"$DIR/ceph.conf" <<EOF
[global]
fsid = $FSID
mon host = [v2:127.0.0.1:${MON_PORT},v1:127.0.0.1:$((MON_PORT + 1))]
public addr = 127.0.0.1
auth cluster required = none
auth service required = none
auth client required = none
ms mon client mode = crc
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon warn on pool no redundancy = false
paxos propose interval = 0.05
run dir = $DIR/run
admin socket = $DIR/run/\$name.asok
pid file = $DIR/run/\$name.pid
log file = $DIR/log/\$name.log
mon cluster log file = $DIR/log/cluster.log
mon data = $DIR/mon/\$name
osd data = $DIR/osd/\$name
osd objectstore = memstore
memstore device bytes = 1073741824
keyring = $DIR/keyring

[client.rgw.a]
# tcp_nodelay: without it a small GET on a kept-alive connection waits ~40 ms (Nagle's
# algorithm against the client's delayed ACK): 1 KB GET median 44 ms -> 1.1 ms.
rgw frontends = beast endpoint=127.0.0.1:${RGW_PORT} tcp_nodelay=1
rgw data = $DIR/rgw
EOF
}

cmd_start() {
  [ -z "$(missing_binaries)" ] || die "Ceph is not installed (missing: $(missing_binaries)); run: $0 install"
  command -v curl >/dev/null 2>&1 || die "curl is needed to check the S3 endpoint"
  local started osd_uuid osd_id
  started=$(date +%s%3N)
  DIR=$(mktemp -d "${TMPDIR:-/tmp}/dsm-ceph-rgw.XXXXXX")
  touch "$DIR/$MARKER"
  mkdir -p "$DIR/run" "$DIR/log" "$DIR/mon" "$DIR/osd" "$DIR/rgw"
  FSID=$(cat /proc/sys/kernel/random/uuid)
  MON_PORT=$(free_port 2) || fail_start "no free port for the mon"
  RGW_PORT=$MON_PORT
  while [ "$RGW_PORT" -eq "$MON_PORT" ] || [ "$RGW_PORT" -eq $((MON_PORT + 1)) ]; do
    RGW_PORT=$(free_port 1) || fail_start "no free port for radosgw"
  done
  ENDPOINT="http://127.0.0.1:${RGW_PORT}"
  write_conf
  local conf=(-c "$DIR/ceph.conf")
  say "starting in $DIR (mon port $MON_PORT, rgw port $RGW_PORT)"

  timeout 20 monmaptool --create --clobber --addv a "[v2:127.0.0.1:${MON_PORT},v1:127.0.0.1:$((MON_PORT + 1))]" \
    --fsid "$FSID" "$DIR/monmap" >/dev/null 2>&1 || fail_start "monmaptool failed"
  timeout 30 ceph-mon "${conf[@]}" --mkfs -i a --monmap "$DIR/monmap" >>"$DIR/log/start.log" 2>&1 || fail_start "ceph-mon --mkfs failed"
  timeout 30 ceph-mon "${conf[@]}" -i a >>"$DIR/log/start.log" 2>&1 || fail_start "ceph-mon did not start within 30 s"
  wait_for 30 "mon up" timeout 5 ceph "${conf[@]}" mon stat || fail_start "the mon does not answer"

  osd_uuid=$(cat /proc/sys/kernel/random/uuid)
  osd_id=$(timeout 30 ceph "${conf[@]}" osd new "$osd_uuid" 2>/dev/null) || fail_start "ceph osd new failed"
  mkdir -p "$DIR/osd/osd.${osd_id}"
  timeout 60 ceph-osd "${conf[@]}" -i "$osd_id" --mkfs --osd-uuid "$osd_uuid" >/dev/null 2>&1 ||
    fail_start "ceph-osd --mkfs failed"
  timeout 60 ceph-osd "${conf[@]}" -i "$osd_id" >>"$DIR/log/start.log" 2>&1 || fail_start "ceph-osd did not start within 60 s"
  wait_for 30 "osd.${osd_id} up" osd_up "$osd_id" || fail_start "osd.${osd_id} is not up after 30 s"

  # radosgw's launcher exits 0 even when its port is taken: the port was checked, and a real S3 answer is awaited.
  if (exec 3<>"/dev/tcp/127.0.0.1/${RGW_PORT}") 2>/dev/null; then fail_start "port $RGW_PORT is taken"; fi
  timeout 30 radosgw "${conf[@]}" -n client.rgw.a >>"$DIR/log/start.log" 2>&1 || fail_start "radosgw failed to launch"
  timeout 60 radosgw-admin "${conf[@]}" user create --uid=dsm-test --display-name="DSM tests" \
    --access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" >/dev/null 2>"$DIR/log/user.log" ||
    fail_start "radosgw-admin user create failed (log/user.log)"
  wait_for 60 "radosgw answers signed requests at $ENDPOINT" list_buckets_ok ||
    fail_start "radosgw gives no signed answer at $ENDPOINT after 60 s"
  local status
  status=$(curl_s3 PUT "/${BUCKET}") || true
  [ "$status" = 200 ] || fail_start "creating the bucket $BUCKET answered HTTP $status"
  wait_for 10 "bucket $BUCKET ready" bucket_ok || fail_start "the bucket $BUCKET does not answer"

  cat >"$DIR/env" <<EOF
export AWS_ENDPOINT_URL=${ENDPOINT}
export AWS_ACCESS_KEY_ID=${ACCESS_KEY}
export AWS_SECRET_ACCESS_KEY=${SECRET_KEY}
export AWS_REGION=${REGION}
export DSM_TEST_S3_URL=s3://${BUCKET}/${PREFIX}
export DSM_RGW_DIR=${DIR}
EOF
  say "ready in $(($(date +%s%3N) - started)) ms"
  cat "$DIR/env"
}

osd_up() {
  timeout 5 ceph -c "$DIR/ceph.conf" osd dump 2>/dev/null | grep -Eq "^osd\.$1 up "
}

cmd_env() {
  DIR=${1:-${DSM_RGW_DIR:-}}
  [ -n "$DIR" ] && [ -f "$DIR/env" ] || die "no running instance (give its folder or set DSM_RGW_DIR)"
  cat "$DIR/env"
}

# The state of a process from /proc/PID/stat (empty when gone); a zombie (Z) is stopped.
proc_state() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
  stat=${stat##*) }
  echo "${stat%% *}"
}

# The daemons started with this folder's ceph.conf: pid files, then any process naming the conf.
our_pids() {
  local f pid
  {
    for f in "$DIR"/run/*.pid; do [ -f "$f" ] && cat "$f"; done
    for f in /proc/[0-9]*/cmdline; do
      pid=${f#/proc/}
      pid=${pid%/cmdline}
      tr '\0' ' ' <"$f" 2>/dev/null | grep -qF "$DIR/ceph.conf" && echo "$pid"
    done
  } | sort -un | while read -r pid; do
    [ -n "$pid" ] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$DIR/ceph.conf" && echo "$pid"
  done
  return 0
}

cmd_stop() {
  DIR=${1:-${DSM_RGW_DIR:-}}
  [ -n "$DIR" ] || die "which instance? give its folder or set DSM_RGW_DIR"
  [ -d "$DIR" ] || {
    say "$DIR is gone already"
    return 0
  }
  [ -f "$DIR/$MARKER" ] || die "$DIR was not made by this script: not removing it"
  local pids pid signal deadline state alive
  pids=$(our_pids)
  for signal in TERM KILL; do
    [ -n "$pids" ] || break
    # shellcheck disable=SC2086
    kill -s "$signal" $pids 2>/dev/null || true
    deadline=$(($(date +%s) + 10))
    while :; do
      alive=""
      for pid in $pids; do
        state=$(proc_state "$pid")
        [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ] && alive="$alive $pid"
      done
      pids=${alive# }
      [ -z "$pids" ] || [ "$(date +%s)" -ge "$deadline" ] && break
      sleep 0.2
    done
  done
  [ -z "$pids" ] || die "daemons still running after SIGKILL: $pids"
  rm -rf "$DIR"
  say "stopped; removed $DIR"
}

case "${1:-}" in
  install) cmd_install ;;
  start) cmd_start ;;
  env) cmd_env "${2:-}" ;;
  stop) cmd_stop "${2:-}" ;;
  *)
    echo "usage: $0 install|start|env [DIR]|stop [DIR]" >&2
    exit 2
    ;;
esac
