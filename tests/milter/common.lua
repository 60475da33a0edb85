-- SPDX-License-Identifier: ISC
-- common.lua: helpers the miltertest scripts share (loaded with dofile).
-- The caller defines `port` with miltertest -D port=N.

-- Connect to the milter under test.
function mw_connect()
	local conn = mt.connect("inet:" .. port .. "@127.0.0.1", 50, 0.1)
	if conn == nil then
		error("cannot connect to the milter on port " .. port)
	end
	return conn
end

-- Fail unless the last reply is want; what names the step.
function mw_want(conn, want, what)
	local got = mt.getreply(conn)
	if got ~= want then
		error(string.format("%s: reply %s, want %s", what,
		    tostring(got), tostring(want)))
	end
end

-- Fail when a miltertest call returned an error string.
function mw_ok(err, what)
	if err ~= nil then
		error(what .. ": " .. err)
	end
end
