#!/usr/bin/env bash
# Benchmark for issue 2: 2,000 assignments against the stand-in on loopback with pacing off, by
# `switchboard assign` and by curl from `xargs -P 8`, in the same run; then the peak memory of the
# assign run and the cold start of `assign --dry-run` for one session.
#
#   bench/assign-vs-curl.sh [N]      (N defaults to 2000)
#
# Loopback only. Goals: switchboard at most half curl's wall time, at most 30 MB peak, dry run < 20 ms.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-2000}
cargo build --release --quiet
BIN=$PWD/target/release/switchboard
WORK=$(mktemp -d)
trap 'kill $MOCK_PID 2>/dev/null || true; rm -rf "$WORK"' EXIT

export SWITCHBOARD_CLIENT_SECRET=bench-only-secret-$RANDOM$RANDOM
export HOME=$WORK XDG_CONFIG_HOME=$WORK/config XDG_DATA_HOME=$WORK/data
"$BIN" mock --bind 127.0.0.1:0 --rate-limit 0 --callbacks off --no-center > "$WORK/mock.out" &
MOCK_PID=$!
for _ in $(seq 100); do grep -q '^export SWITCHBOARD_APP_ID' "$WORK/mock.out" 2>/dev/null && break; sleep 0.05; done
eval "$(grep '^export SWITCHBOARD_\(HOST\|STREAM_ID\|ORG_ID\|ACCOUNT_ID\|APP_ID\)=' "$WORK/mock.out")"
export SWITCHBOARD_RATE=0 SWITCHBOARD_AUDIT_LOG=$WORK/audit.jsonl SWITCHBOARD_LOG_FILE=$WORK/log
QUEUE=qu-b5d3bb4-a1ac-4caa-9be6-55a5abc30001

{ echo botSessionId; for i in $(seq 1 "$N"); do printf '6538f8a3c9cf%08xf00d\n' "$i"; done; } > "$WORK/sessions.csv"
tail -n +2 "$WORK/sessions.csv" > "$WORK/ids"

now_ms() { date +%s%3N; }

# switchboard: 8 in flight, like curl's 8 processes.
start=$(now_ms)
if [ -x /usr/bin/time ]; then
    /usr/bin/time -f '%M' -o "$WORK/rss" "$BIN" assign --sessions "$WORK/sessions.csv" --queue "$QUEUE" --concurrency 8 --json > "$WORK/sb.out" || true
else
    "$BIN" assign --sessions "$WORK/sessions.csv" --queue "$QUEUE" --concurrency 8 --json > "$WORK/sb.out" || true
fi
sb_ms=$(( $(now_ms) - start ))
sb_ok=$(grep -c '"outcome":"transferred"' "$WORK/sb.out" || true)

# curl: the same requests, one process each, 8 at a time.
TOKEN=$("$BIN" token)
URL="$SWITCHBOARD_HOST/agentassist/api/v1/public/$SWITCHBOARD_STREAM_ID/assign-conversation"
export TOKEN URL QUEUE
start=$(now_ms)
xargs -P 8 -I{} sh -c 'curl -s -o /dev/null -w "%{http_code}\n" -X POST "$URL" -H "auth: $TOKEN" -H "accountid: $SWITCHBOARD_ACCOUNT_ID" -H "Content-Type: application/json" --data "{\"callbackUrl\":\"http://127.0.0.1:9/callback/{}?t=x\",\"orgId\":\"$SWITCHBOARD_ORG_ID\",\"transferredType\":\"QUEUE\",\"queueId\":\"$QUEUE\",\"botSessionId\":\"{}\"}"' < "$WORK/ids" > "$WORK/curl.out"
curl_ms=$(( $(now_ms) - start ))
curl_ok=$(grep -c '^200$' "$WORK/curl.out" || true)

# Cold start of a one-session dry run: the median of 21 runs.
times=()
for _ in $(seq 21); do
    s=$(date +%s%N); "$BIN" assign --session 6538f8a3c9cf425ee5cf0001 --queue "$QUEUE" --dry-run > /dev/null; e=$(date +%s%N)
    times+=($(( (e - s) / 1000 )))
done
dry_us=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 11p)

echo "assignments:          $N (pacing off, loopback)"
echo "switchboard assign:   ${sb_ms} ms  ($sb_ok transferred)"
echo "curl, xargs -P 8:     ${curl_ms} ms  ($curl_ok answered 200)"
awk -v a="$sb_ms" -v b="$curl_ms" 'BEGIN { printf "ratio:                %.2f of curl'"'"'s wall time (goal <= 0.50)\n", a / b }'
[ -f "$WORK/rss" ] && awk '{ printf "peak memory (assign): %.1f MB (goal <= 30)\n", $1 / 1024 }' "$WORK/rss"
awk -v u="$dry_us" 'BEGIN { printf "dry-run cold start:   %.1f ms median of 21 (goal < 20)\n", u / 1000 }'
