-- wrk script for bench/scale-out.sh: every connection alternates an ad query (a new user each
-- time) and a click on the click URL that query returned, so every click carries a fresh,
-- valid token. Set ADPOOL_BENCH_KEY to the site key.
local key = os.getenv("ADPOOL_BENCH_KEY")
local placements = { "home_top", "search_result", "product_detail" }
local queue = {}
local n = 0

request = function()
  local path = table.remove(queue)
  if path then
    return wrk.format("GET", path)
  end
  n = n + 1
  return wrk.format(
    "GET",
    "/serve/ads?placement=" .. placements[n % 3 + 1] .. "&n=1&user=u" .. math.random(1, 2000000000) .. "x" .. n,
    { ["X-Adpool-Key"] = key }
  )
end

response = function(status, headers, body)
  local path = body:match('"click_url":"[^"]-(/serve/click%?t=[^"]+)"')
  if path then
    table.insert(queue, path)
  end
end
