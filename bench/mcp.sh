#!/bin/sh
# SPDX-License-Identifier: ISC
# bench/mcp.sh: the Malicious Code Protector's part of `make bench`: builds
# the corpora and bench/mcp_bench, then prints records/s and MB/s on both
# corpora, the cost of a 64 KB SASL blob, and the detection / false-positive
# table for low, medium and high.  Runs standalone: sh bench/mcp.sh
# Environment: B (build dir, default build).
set -u
cd "$(dirname "$0")/.." || exit 1
B=${B:-build}
make --no-print-directory B="$B" "$B/bench/mcp_bench" mcp-corpus >/dev/null ||
	exit 1
echo "== Malicious Code Protector ($B/bench/mcp_bench" \
    "$B/tests/mcp/benign.tsv $B/tests/mcp/malicious.tsv)"
exec "$B/bench/mcp_bench" "$B/tests/mcp/benign.tsv" "$B/tests/mcp/malicious.tsv"
