-- wrk script for every workload of bench/run.sh; configured by environment:
--   BENCH_WORKLOAD  healthz | poll | sync | depth1 | query | get | put
--   BENCH_MANIFEST  bench-manifest.tsv written by almanac-bench-seed
--                   (user, collection id, sync token, one item name per line)
--   BENCH_BASE      URL prefix of the calendar homes: /dav/calendars/ (Almanac), / (Radicale)
--   BENCH_SPREAD    requests go to users picked at random among the first N
--                   of the manifest (1 = only user0001)
--   BENCH_USER      a single user to use instead (e.g. big for the query)
--   BENCH_TOKEN     sync token to send instead of the manifest's (Radicale)
--   BENCH_PASSWORD  the password of every user
--   BENCH_MONTH     first day of the queried month, e.g. 20260301 (default)
--
-- Each thread counts responses that are not 2xx (and, for the sync poll,
-- answers that list a member: an unchanged poll must be empty); done()
-- prints one machine-readable RESULT line that run.sh parses.

local workload = os.getenv("BENCH_WORKLOAD") or "healthz"
local base = os.getenv("BENCH_BASE") or "/dav/calendars/"
local spread = tonumber(os.getenv("BENCH_SPREAD") or "1")
local only_user = os.getenv("BENCH_USER")
local token_override = os.getenv("BENCH_TOKEN")
local password = os.getenv("BENCH_PASSWORD") or "bench-password"
local month = os.getenv("BENCH_MONTH") or "20260301"

-- ---------------------------------------------------------------- helpers

local b64chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local function base64(data)
   return ((data:gsub(".", function(x)
      local r, byte = "", x:byte()
      for i = 8, 1, -1 do r = r .. (byte % 2 ^ i - byte % 2 ^ (i - 1) > 0 and "1" or "0") end
      return r
   end) .. "0000"):gsub("%d%d%d?%d?%d?%d?", function(x)
      if #x < 6 then return "" end
      local c = 0
      for i = 1, 6 do c = c + (x:sub(i, i) == "1" and 2 ^ (6 - i) or 0) end
      return b64chars:sub(c + 1, c + 1)
   end) .. ({ "", "==", "=" })[#data % 3 + 1])
end

local function load_manifest(path)
   local users = {}
   local f = assert(io.open(path, "r"), "cannot open the manifest " .. tostring(path))
   for l in f:lines() do
      local user, id, token, item = l:match("^([^\t]+)\t([^\t]+)\t([^\t]+)\t([^\t]+)$")
      if user then
         users[#users + 1] = { name = user, id = id, token = token, item = item }
      end
   end
   f:close()
   return users
end

local function next_month(yyyymmdd)
   local y, m = tonumber(yyyymmdd:sub(1, 4)), tonumber(yyyymmdd:sub(5, 6))
   m = m + 1
   if m > 12 then m, y = 1, y + 1 end
   return string.format("%04d%02d01", y, m)
end

-- ---------------------------------------------------------------- bodies

local PROPFIND_CTAG = [[<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:" xmlns:cs="http://calendarserver.org/ns/"><d:prop><cs:getctag/></d:prop></d:propfind>]]

local PROPFIND_LIST = [[<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:"><d:prop><d:getetag/><d:getcontenttype/></d:prop></d:propfind>]]

local function sync_body(token)
   return [[<?xml version="1.0" encoding="utf-8"?>
<d:sync-collection xmlns:d="DAV:"><d:sync-token>]] .. token ..
      [[</d:sync-token><d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>]]
end

local QUERY = [[<?xml version="1.0" encoding="utf-8"?>
<c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop><d:getetag/><c:calendar-data/></d:prop><c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VEVENT"><c:time-range start="]]
   .. month .. [[T000000Z" end="]] .. next_month(month) .. [[T000000Z"/></c:comp-filter></c:comp-filter></c:filter></c:calendar-query>]]

local function new_event(uid)
   return "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Almanac//bench put//EN\r\n" ..
      "BEGIN:VEVENT\r\nUID:" .. uid .. "\r\nDTSTAMP:20250601T090000Z\r\n" ..
      "DTSTART:20260315T140000Z\r\nDTEND:20260315T150000Z\r\n" ..
      "SUMMARY:Benchmark meeting\r\nLOCATION:Room 4.12\r\n" ..
      "DESCRIPTION:Created by the Almanac load benchmark.\r\n" ..
      "END:VEVENT\r\nEND:VCALENDAR\r\n"
end

-- ---------------------------------------------------------------- main state

local threads = {}

function setup(thread)
   threads[#threads + 1] = thread
   thread:set("thread_id", #threads)
end

-- ---------------------------------------------------------------- thread state

local users = {}
local counter = 0
bad = 0          -- responses that are not 2xx
first_bad = 0    -- the first such status
nonempty = 0     -- sync polls that listed a member

function init(args)
   math.randomseed((thread_id or 1) * 7919 + os.time())
   if workload ~= "healthz" then
      local all = load_manifest(os.getenv("BENCH_MANIFEST"))
      if only_user then
         for _, u in ipairs(all) do
            if u.name == only_user then users[1] = u end
         end
      else
         for i = 1, math.min(spread, #all) do users[i] = all[i] end
      end
      assert(#users > 0, "no user to send requests as")
      for _, u in ipairs(users) do
         u.auth = "Basic " .. base64(u.name .. ":" .. password)
         u.calendar = base .. u.name .. "/calendar/"
         u.sync = sync_body(token_override or u.token)
      end
   end
end

function request()
   if workload == "healthz" then
      return wrk.format("GET", "/healthz")
   end
   local u = users[math.random(#users)]
   local h = { ["Authorization"] = u.auth }
   if workload == "poll" then
      h["Depth"] = "0"
      h["Content-Type"] = "application/xml; charset=utf-8"
      return wrk.format("PROPFIND", u.calendar, h, PROPFIND_CTAG)
   elseif workload == "sync" then
      h["Depth"] = "0"
      h["Content-Type"] = "application/xml; charset=utf-8"
      return wrk.format("REPORT", u.calendar, h, u.sync)
   elseif workload == "depth1" then
      h["Depth"] = "1"
      h["Content-Type"] = "application/xml; charset=utf-8"
      return wrk.format("PROPFIND", u.calendar, h, PROPFIND_LIST)
   elseif workload == "query" then
      h["Depth"] = "1"
      h["Content-Type"] = "application/xml; charset=utf-8"
      return wrk.format("REPORT", u.calendar, h, QUERY)
   elseif workload == "get" then
      return wrk.format("GET", u.calendar .. u.item, h)
   elseif workload == "put" then
      counter = counter + 1
      local uid = string.format("bench-put-%d-%d-%d-%08x", os.time(), thread_id, counter,
         math.random(0, 0x7fffffff))
      h["Content-Type"] = "text/calendar; charset=utf-8"
      h["If-None-Match"] = "*"
      return wrk.format("PUT", u.calendar .. uid .. ".ics", h, new_event(uid))
   end
   error("unknown BENCH_WORKLOAD " .. workload)
end

function response(status, headers, body)
   if status < 200 or status > 299 then
      bad = bad + 1
      if first_bad == 0 then first_bad = status end
   elseif workload == "sync" and body and body:find("href", 1, true) then
      nonempty = nonempty + 1
   end
end

function done(summary, latency, requests)
   local b, nb, fb = 0, 0, 0
   for _, t in ipairs(threads) do
      b = b + (t:get("bad") or 0)
      nb = nb + (t:get("nonempty") or 0)
      local f = t:get("first_bad") or 0
      if fb == 0 and f ~= 0 then fb = f end
   end
   local e = summary.errors
   local secs = summary.duration / 1e6
   io.write(string.format(
      "RESULT requests=%d seconds=%.2f rps=%.2f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f bad_status=%d first_bad=%d nonempty=%d socket_errors=%d timeouts=%d\n",
      summary.requests, secs, summary.requests / secs,
      latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
      b, fb, nb, e.connect + e.read + e.write, e.timeout))
end
