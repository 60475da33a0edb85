-- SPDX-License-Identifier: ISC
-- abort.lua: a transaction aborted half-way, then a new one on the same
-- connection.  Policy (test_milter_miltertest.py): external_mail prevent,
-- internal_networks 127.0.0.0/8, local_domains test.example.
dofile(dir .. "/common.lua")

local conn = mw_connect()
mw_ok(mt.conninfo(conn, "localhost", "127.0.0.1"), "conninfo")
mw_ok(mt.helo(conn, "client.test.example"), "helo")

-- first transaction, not authenticated: the external recipient is refused
mw_ok(mt.mailfrom(conn, "<a@test.example>"), "mail 1")
mw_want(conn, SMFIR_CONTINUE, "mail 1")
mw_ok(mt.rcptto(conn, "<bob@test.example>"), "rcpt local")
mw_want(conn, SMFIR_CONTINUE, "rcpt local")
mw_ok(mt.rcptto(conn, "<x@example.com>"), "rcpt external")
mw_want(conn, SMFIR_REPLYCODE, "rcpt external")

-- abort mid-transaction (RSET)
mw_ok(mt.abort(conn), "abort")

-- second transaction after login: the same recipient passes
mt.macro(conn, SMFIC_MAIL, "{auth_type}", "PLAIN", "{auth_authen}", "alice")
mw_ok(mt.mailfrom(conn, "<alice@test.example>"), "mail 2")
mw_want(conn, SMFIR_CONTINUE, "mail 2")
mw_ok(mt.rcptto(conn, "<x@example.com>"), "rcpt external after login")
mw_want(conn, SMFIR_CONTINUE, "rcpt external after login")
mw_ok(mt.abort(conn), "abort 2")
mw_ok(mt.disconnect(conn), "disconnect")
