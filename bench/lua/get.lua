-- GET of one fixed path (wrk's command-line URL), as fast as wrk can send it.
-- No request() function, so wrk sends one prepared request and spends no Lua
-- time per request: the server, not the script, sets the pace.

local here = debug.getinfo(1, "S").source:sub(2):match("(.*/)") or "./"
package.path = here .. "?.lua;" .. package.path
local report = require("report")

setup = report.setup
done = report.done
