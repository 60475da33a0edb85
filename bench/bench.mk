# SPDX-License-Identifier: ISC
# bench/: the POP3 load generator of `make bench` (bench/run drives it).

P3LOAD		:= $(B)/bench/p3load
PROGS		+= $(P3LOAD)

$(P3LOAD): $(B)/bench/p3load.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^
