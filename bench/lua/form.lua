-- POSTs of a form as a browser sends them, configured by the
-- environment (wrk passes script arguments only to threads, and these settings
-- are needed when the script is loaded):
--
--   BENCH_MODE        sign             the sign form, a new signer (unique address) per
--                                      request, to BENCH_PATH: the sign form's address, or
--                                      the trivial view's for the baseline
--                     confirm          the confirm button: POST /confirm/<token>/, each
--                                      token once
--                     trivial-confirm  the confirm button's body, to BENCH_PATH (baseline)
--   BENCH_PATH        e.g. /p/libya-detention/sign/ or /_bench/trivial/
--   BENCH_CSRF_POOL   file of "cookie<TAB>token" lines (confirm: its page carries a
--                     CSRF token; the sign form has none, as the petition page is
--                     the same for everyone, and is sent as a browser sends it
--                     from that page, with Origin and Sec-Fetch-Site)
--   BENCH_TOKENS      file of confirmation tokens, one per line (confirm)
--   BENCH_TAG         makes this run's addresses unique, e.g. "s1732291234"
--   BENCH_IP_OCTET    first octet of the X-Forwarded-For addresses (default 10)
--   BENCH_ORIGIN      the site's origin, for the Origin header
--
-- Every signer comes from an address of their own (X-Forwarded-For, which the
-- app trusts with TRUSTED_PROXY_COUNT=1, as behind a production proxy) and
-- writes from one of 500 mail domains, so that the app's per-IP and
-- per-domain rate limits see what a crowd of distinct people would look like
-- and hold nobody; the limits are checked on every signature all the same.
--
-- Django masks the CSRF token differently in each response, but any token
-- made for a cookie's secret is valid with that cookie for as many POSTs as
-- one likes, so a small pool fetched beforehand serves the whole run.

local here = debug.getinfo(1, "S").source:sub(2):match("(.*/)") or "./"
package.path = here .. "?.lua;" .. package.path
local report = require("report")

local mode = os.getenv("BENCH_MODE") or "sign"
local path = os.getenv("BENCH_PATH") or "/"
local tag = os.getenv("BENCH_TAG") or "bench"
local ip_octet = tonumber(os.getenv("BENCH_IP_OCTET") or "10")
local origin = os.getenv("BENCH_ORIGIN") or "http://127.0.0.1"

local function urlencode(text)
   return (text:gsub("[^%w%-%._~]", function(char) return string.format("%%%02X", char:byte()) end))
end

local function lines_of(file_name)
   local lines = {}
   for line in io.lines(file_name) do
      if line ~= "" then table.insert(lines, line) end
   end
   return lines
end

-- Names in several scripts, as signers type them; percent-encoded once here.
local first_names, last_names = {}, {}
for _, name in ipairs({"Amira", "Zoë", "João", "Søren", "أمينة", "محمد", "Анна", "Ελένη", "प्रिया", "ሳባ", "伟", "지은", "Chidi", "Leïla"}) do
   table.insert(first_names, urlencode(name))
end
for _, name in ipairs({"Haddad", "Müller", "O'Brien", "Ødegård", "الحداد", "Иванова", "Παπαδοπούλου", "शर्मा", "ተስፋዬ", "王", "김", "Okafor"}) do
   table.insert(last_names, urlencode(name))
end
local countries = {"GB", "DE", "FR", "IT", "ES", "TN", "LY", "NG", "US", "ER", "IN", "GR", "NL", "SE"}

local pairs_pool = {}
for _, line in ipairs(lines_of(os.getenv("BENCH_CSRF_POOL"))) do
   local cookie, token = line:match("^([^\t]+)\t([^\t]+)$")
   table.insert(pairs_pool, {cookie = "csrftoken=" .. cookie, token = token})
end

local thread_id, thread_count = 0, 1
local tokens, token_index = {}, 0
made, reused = 0, 0

setup = report.setup
done = report.done

function init(args)
   thread_id = tonumber(wrk.thread:get("id")) or 0
   thread_count = tonumber(args[1]) or 1
   if mode == "confirm" then
      -- Each thread takes every thread_count-th token, so no token is used twice.
      local all = lines_of(os.getenv("BENCH_TOKENS"))
      for index = thread_id + 1, #all, thread_count do
         table.insert(tokens, all[index])
      end
   end
end

function request()
   made = made + 1
   local pair = pairs_pool[(made + thread_id) % #pairs_pool + 1]
   local n = made * thread_count + thread_id
   local headers = {
      ["Content-Type"] = "application/x-www-form-urlencoded",
      ["Origin"] = origin,
      ["Sec-Fetch-Site"] = "same-origin",
      ["X-Forwarded-For"] = string.format("%d.%d.%d.%d", ip_octet, math.floor(n / 65536) % 256,
                                          math.floor(n / 256) % 256, n % 256),
   }
   local body = "website="
   if mode ~= "sign" then
      headers["Cookie"] = pair.cookie
      body = "csrfmiddlewaretoken=" .. pair.token
   end
   local target = path
   if mode == "confirm" then
      token_index = token_index + 1
      if token_index > #tokens then
         -- Ran out: the figure would include cheap "already confirmed" answers,
         -- so run.py reports it and the pool must be made larger.
         reused = reused + 1
         token_index = 1
      end
      target = "/en/confirm/" .. tokens[token_index] .. "/"
   elseif mode == "sign" then
      body = body
         .. "&first_name=" .. first_names[n % #first_names + 1]
         .. "&last_name=" .. last_names[n % #last_names + 1]
         .. "&email=" .. tag .. "." .. thread_id .. "." .. made .. "%40mail" .. (n % 500) .. ".example"
         .. "&country=" .. countries[n % #countries + 1]
         .. "&postcode=" .. ((n % 3 == 0) and "SW1A%201AA" or "")
         .. "&letter_consent=on"
         .. ((n % 3 == 1) and "&reply_consent=on" or "")
         .. ((n % 2 == 0) and "&updates_consent=on" or "")
   end
   return wrk.format("POST", target, headers, body)
end
