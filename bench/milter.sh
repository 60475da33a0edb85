#!/bin/sh
# SPDX-License-Identifier: ISC
# bench/milter.sh: the milter benchmark of `make bench`, runnable alone.
# One private Postfix (tests/integration/postfix.py) delivering to discard:
# has four smtpd listeners: no milter; the every-callback null milter; the
# null milter with exactly mailwarden-milter's callbacks and flags; and
# mailwarden-milter with the default policy.  Postfix's smtp-source drives
# them in turn, interleaved over ROUNDS rounds, Postfix and the milters
# pinned to CPU 0 and smtp-source to CPU 1.  Prints messages per second
# (median of the rounds) and the ratios.
# Environment: B (build dir, default build), ROUNDS (default 3), MSGS
# (messages per run, default 3000), SESSIONS (parallel, default 20), SIZE
# (octets per message, default 4096), KEEP=1 (keep the work directory).
# Ports 24250-24269.
set -u
cd "$(dirname "$0")/.." || exit 1
B=${B:-build}
ROUNDS=${ROUNDS:-3}
MSGS=${MSGS:-3000}
SESSIONS=${SESSIONS:-20}
SIZE=${SIZE:-4096}
NULLM=$B/bench/null_milter
MW=bin/mailwarden-milter
CPU_SERVER=0
CPU_LOAD=1
P_NONE=24250 P_ALL=24251 P_SAME=24252 P_MW=24253
M_ALL=24260 M_SAME=24261 M_MW=24262

if [ "$(nproc --all)" -lt 2 ]; then
	CPU_LOAD=0
	echo "bench: one CPU only: server and load generator share it" >&2
fi
command -v smtp-source >/dev/null || { echo "bench: smtp-source missing" >&2; exit 1; }
make --no-print-directory "$NULLM" "$MW" >/dev/null || exit 1

T=$(mktemp -d /tmp/mwbench-milter.XXXXXX) || exit 1
chmod 755 "$T"
pids=""

# Stop one started process and wait for it.
unspawn() {
	kill -TERM "$1" 2>/dev/null
	i=0
	while kill -0 "$1" 2>/dev/null && [ $i -lt 150 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

cleanup() {
	for p in $pids; do
		unspawn "$p"
	done
	pids=""
	[ "${KEEP:-0}" = 1 ] && echo "bench: work directory $T" >&2 ||
	    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# Wait until a TCP port on 127.0.0.1 listens.
wait_listen() {
	hex=$(printf '0100007F:%04X' "$1")
	i=0
	while ! awk -v a="$hex" '$2 == a && $4 == "0A" { f = 1 } END { exit !f }' \
	    /proc/net/tcp; do
		i=$((i + 1))
		[ $i -gt 300 ] && { echo "bench: port $1 not listening" >&2; exit 1; }
		sleep 0.05
	done
}

cat >"$T/mailwarden.conf" <<EOF
log { syslog = false json_file = "$T/events.json" }
smtp { socket = "inet:$M_MW@127.0.0.1" }
EOF

taskset -c $CPU_SERVER "$NULLM" -m all -p "inet:$M_ALL@127.0.0.1" &
pids="$pids $!"
taskset -c $CPU_SERVER "$NULLM" -m same -c "$T/mailwarden.conf" \
    -p "inet:$M_SAME@127.0.0.1" &
pids="$pids $!"
taskset -c $CPU_SERVER "$MW" -f -c "$T/mailwarden.conf" 2>"$T/milter.log" &
pids="$pids $!"
for p in $M_ALL $M_SAME $M_MW; do
	wait_listen $p
done

taskset -c $CPU_SERVER python3 tests/integration/postfix.py --dir "$T/pf" \
    --port $P_NONE \
    --port "$P_ALL:smtpd_milters=inet:127.0.0.1:$M_ALL" \
    --port "$P_SAME:smtpd_milters=inet:127.0.0.1:$M_SAME" \
    --port "$P_MW:smtpd_milters=inet:127.0.0.1:$M_MW" \
    --main "smtpd_client_port_logging=no" \
    --main "default_process_limit=200" >"$T/postfix.out" 2>&1 &
pids="$pids $!"
i=0
until grep -q '^ready' "$T/postfix.out" 2>/dev/null; do
	i=$((i + 1))
	[ $i -gt 600 ] && { echo "bench: postfix did not start" >&2; cat "$T/postfix.out" >&2; exit 1; }
	sleep 0.05
done

# Messages still in the queue (a run starts when the previous drained).
queued() {
	find "$T/pf/queue/incoming" "$T/pf/queue/active" \
	    "$T/pf/queue/deferred" "$T/pf/queue/maildrop" -type f 2>/dev/null |
	    wc -l
}

drain() {
	i=0
	while [ "$(queued)" -gt 0 ] && [ $i -lt 600 ]; do
		sleep 0.1
		i=$((i + 1))
	done
}

# One run: messages per second through port $1.
run_one() {
	drain
	s=$(date +%s.%N)
	taskset -c $CPU_LOAD smtp-source -s "$SESSIONS" -m "$MSGS" -l "$SIZE" \
	    -f bench@test.example -t sink@test.example "127.0.0.1:$1" \
	    >"$T/source.out" 2>&1 || { echo "bench: smtp-source failed on $1" >&2; cat "$T/source.out" >&2; exit 1; }
	e=$(date +%s.%N)
	awk -v s="$s" -v e="$e" -v n="$MSGS" 'BEGIN { printf "%.1f\n", n / (e - s) }'
}

# Warm-up: every path once, small.
for p in $P_NONE $P_ALL $P_SAME $P_MW; do
	taskset -c $CPU_LOAD smtp-source -s 5 -m 200 -l "$SIZE" \
	    -f bench@test.example -t sink@test.example "127.0.0.1:$p" \
	    >/dev/null 2>&1
done

: >"$T/none" ; : >"$T/all" ; : >"$T/same" ; : >"$T/mw"
r=1
while [ $r -le "$ROUNDS" ]; do
	run_one $P_NONE >>"$T/none"
	run_one $P_ALL >>"$T/all"
	run_one $P_SAME >>"$T/same"
	run_one $P_MW >>"$T/mw"
	printf 'round %d: none %s  every-callback %s  same-callbacks %s  mailwarden %s msg/s\n' \
	    $r "$(tail -1 "$T/none")" "$(tail -1 "$T/all")" \
	    "$(tail -1 "$T/same")" "$(tail -1 "$T/mw")"
	r=$((r + 1))
done

median() {
	sort -n "$1" | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

NONE=$(median "$T/none")
ALL=$(median "$T/all")
SAME=$(median "$T/same")
MWR=$(median "$T/mw")
nev=$(grep -c '"event":"attack"' "$T/events.json" 2>/dev/null || true)

echo
echo "milter benchmark: $MSGS messages of $SIZE octets, $SESSIONS sessions," \
    "$ROUNDS rounds (median), Postfix on CPU $CPU_SERVER, smtp-source on CPU $CPU_LOAD"
awk -v n="$NONE" -v a="$ALL" -v s="$SAME" -v m="$MWR" 'BEGIN {
	printf "| configuration                     | msg/s   | vs no milter |\n"
	printf "|-----------------------------------|---------|--------------|\n"
	printf "| no milter                         | %7.1f | %12.2f |\n", n, 1
	printf "| null milter, every callback       | %7.1f | %12.2f |\n", a, a / n
	printf "| null milter, mailwarden callbacks | %7.1f | %12.2f |\n", s, s / n
	printf "| mailwarden-milter, default policy | %7.1f | %12.2f |\n", m, m / n
	printf "\nmailwarden / same-callbacks null: %.2f (target >= 0.95)\n", m / s
	printf "mailwarden / every-callback null: %.2f (target >= 1.30)\n", m / a
}'
echo "attack events logged during the run: ${nev:-0} (want 0)"
