-- SPDX-License-Identifier: ISC
-- second_transaction.lua: two complete messages on one connection, then
-- unknown commands counted across them.  Policy: detect_header = true,
-- external_mail detect, internal_networks 127.0.0.0/8, local_domains
-- test.example (unknown_command detect, max_bad_commands prevent: defaults).
dofile(dir .. "/common.lua")

local conn = mw_connect()
mw_ok(mt.conninfo(conn, "localhost", "127.0.0.1"), "conninfo")
mw_ok(mt.helo(conn, "client.test.example"), "helo")

-- first message: external recipient, detect only
mw_ok(mt.mailfrom(conn, "<a@test.example>"), "mail 1")
mw_want(conn, SMFIR_CONTINUE, "mail 1")
mw_ok(mt.rcptto(conn, "<x@example.com>"), "rcpt 1")
mw_want(conn, SMFIR_CONTINUE, "rcpt 1")
mw_ok(mt.eom(conn), "eom 1")
mw_want(conn, SMFIR_CONTINUE, "eom 1")
if not mt.eom_check(conn, MT_HDRADD, "X-Mailwarden-Detect",
    "smtp.external_mail") then
	error("eom 1: X-Mailwarden-Detect not added as expected")
end

-- an unknown command between the messages
mw_ok(mt.unknown(conn, "FOO"), "unknown 1")
mw_want(conn, SMFIR_CONTINUE, "unknown 1")

-- second message: local recipient; the header names the whole session
mw_ok(mt.mailfrom(conn, "<a@test.example>"), "mail 2")
mw_want(conn, SMFIR_CONTINUE, "mail 2")
mw_ok(mt.rcptto(conn, "<y@test.example>"), "rcpt 2")
mw_want(conn, SMFIR_CONTINUE, "rcpt 2")
mw_ok(mt.eom(conn), "eom 2")
mw_want(conn, SMFIR_CONTINUE, "eom 2")
if not mt.eom_check(conn, MT_HDRADD, "X-Mailwarden-Detect",
    "smtp.unknown_command, smtp.external_mail") then
	error("eom 2: X-Mailwarden-Detect not added as expected")
end

-- unknown commands 2..10 pass, the 11th of the session closes it
for i = 2, 10 do
	mw_ok(mt.unknown(conn, "FOO"), "unknown " .. i)
	mw_want(conn, SMFIR_CONTINUE, "unknown " .. i)
end
mw_ok(mt.unknown(conn, "FOO"), "unknown 11")
mw_want(conn, SMFIR_REPLYCODE, "unknown 11")
mw_ok(mt.disconnect(conn), "disconnect")
