# SPDX-License-Identifier: ISC
# bench/: the POP3 load generator of `make bench` and its floor, a relay
# that only copies bytes (bench/run drives both).

P3LOAD		:= $(B)/bench/p3load
PROGS		+= $(P3LOAD)

$(P3LOAD): $(B)/bench/p3load.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^

NULL_RELAY	:= $(B)/bench/null_relay
PROGS		+= $(NULL_RELAY)

$(NULL_RELAY): $(B)/bench/null_relay.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^
