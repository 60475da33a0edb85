-- SPDX-License-Identifier: ISC
-- missing_macros.lua: an MTA that sends no client address and only some
-- of the macros.  Policy: auth allow_networks 127.0.0.0/8, require_tls.
dofile(dir .. "/common.lua")

-- no client address at all ("unspec")
local conn = mw_connect()
mw_ok(mt.conninfo(conn, "localhost", "unspec"), "conninfo unspec")
mw_ok(mt.helo(conn, "client.test.example"), "helo")
mw_ok(mt.unknown(conn, ""), "empty unknown command")
mw_want(conn, SMFIR_CONTINUE, "empty unknown command")
-- no macros: not a login, nothing to judge
mw_ok(mt.mailfrom(conn, "<a@test.example>"), "mail without macros")
mw_want(conn, SMFIR_CONTINUE, "mail without macros")
mw_ok(mt.abort(conn), "abort")
-- {auth_type} alone: a login from an unknown address is outside
-- allow_networks
mt.macro(conn, SMFIC_MAIL, "{auth_type}", "PLAIN")
mw_ok(mt.mailfrom(conn, "<a@test.example>"), "mail auth_type only")
mw_want(conn, SMFIR_REPLYCODE, "mail auth_type only")
mw_ok(mt.disconnect(conn), "disconnect 1")

-- an address, a login, but no {tls_version}: refused by require_tls
conn = mw_connect()
mw_ok(mt.conninfo(conn, "localhost", "127.0.0.1"), "conninfo")
mw_ok(mt.helo(conn, "client.test.example"), "helo 2")
mt.macro(conn, SMFIC_MAIL, "{auth_type}", "LOGIN", "{auth_authen}", "bob")
mw_ok(mt.mailfrom(conn, "<bob@test.example>"), "mail without tls")
mw_want(conn, SMFIR_REPLYCODE, "mail without tls")
mw_ok(mt.disconnect(conn), "disconnect 2")

-- the same with {tls_version}: allowed
conn = mw_connect()
mw_ok(mt.conninfo(conn, "localhost", "127.0.0.1"), "conninfo 3")
mw_ok(mt.helo(conn, "client.test.example"), "helo 3")
mt.macro(conn, SMFIC_MAIL, "{auth_type}", "LOGIN", "{auth_authen}", "bob",
    "{tls_version}", "TLSv1.3")
mw_ok(mt.mailfrom(conn, "<bob@test.example>"), "mail with tls")
mw_want(conn, SMFIR_CONTINUE, "mail with tls")
mw_ok(mt.disconnect(conn), "disconnect 3")
