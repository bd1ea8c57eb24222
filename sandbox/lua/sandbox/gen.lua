-- Deterministic pseudo-random values: every record is derived from (tenant seed, id, salt), so
-- the sandbox can serve a million customers without storing one. Plain arithmetic only (no
-- bit operations), exact in doubles: the state stays below 2^31 and products below 2^47.

local floor = math.floor
local concat = table.concat

local _M = {}

local MOD, MUL = 2147483647, 48271   -- the "minimal standard" Lehmer generator
local HEX = { "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "a", "b", "c", "d", "e", "f" }

local Rng = {}
Rng.__index = Rng

---A generator for one record. Different salts give independent streams for the same id.
function _M.rng(seed, id, salt)
  local s = (seed * 7919 + (id % MOD) * 104729 + (salt or 0) * 1299709) % MOD
  if s == 0 then s = 1 end
  local r = setmetatable({ s = s }, Rng)
  -- a few rounds so that neighbouring ids do not start with visibly related values
  r:next(); r:next(); r:next()
  return r
end

function Rng:next()
  self.s = (self.s * MUL) % MOD
  return self.s
end

---An integer in [lo, hi].
function Rng:int(lo, hi)
  return lo + self:next() % (hi - lo + 1)
end

---True with probability `percent` / 100.
function Rng:chance(percent)
  return self:next() % 100 < percent
end

function Rng:pick(list)
  return list[self:next() % #list + 1]
end

function Rng:hex(n)
  local t = {}
  for i = 1, n do t[i] = HEX[self:next() % 16 + 1] end
  return concat(t)
end

function Rng:digits(n)
  local t = {}
  for i = 1, n do t[i] = self:next() % 10 end
  return concat(t)
end

---A version-4 UUID string.
function Rng:uuid()
  return ("%s-%s-4%s-%s%s-%s"):format(self:hex(8), self:hex(4), self:hex(3),
    HEX[self:int(9, 12)], self:hex(3), self:hex(12))
end

---Days since 1970-01-01 of a civil date (proleptic Gregorian).
function _M.days(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = floor(y / 400)
  local yoe = y - era * 400
  local doy = floor((153 * ((m + 9) % 12) + 2) / 5) + d - 1
  return era * 146097 + yoe * 365 + floor(yoe / 4) - floor(yoe / 100) + doy - 719468
end

---"YYYY-MM-DD" of a day number (the inverse of days).
function _M.date(days)
  local z = days + 719468
  local era = floor(z / 146097)
  local doe = z - era * 146097
  local yoe = floor((doe - floor(doe / 1460) + floor(doe / 36524) - floor(doe / 146096)) / 365)
  local doy = doe - (365 * yoe + floor(yoe / 4) - floor(yoe / 100))
  local mp = floor((5 * doy + 2) / 153)
  local d = doy - floor((153 * mp + 2) / 5) + 1
  local m = mp < 10 and mp + 3 or mp - 9
  local y = yoe + era * 400 + (m <= 2 and 1 or 0)
  return ("%04d-%02d-%02d"):format(y, m, d)
end

---A day number between two civil dates given as {y, m, d}.
function Rng:day(from, to)
  return self:int(_M.days(from[1], from[2], from[3]), _M.days(to[1], to[2], to[3]))
end

-- The sandbox's calendar is fixed, so that schedules, check-ins and due dates come out the same
-- on every run: "today" is this day, whatever the clock says.
_M.TODAY = _M.days(2025, 6, 2)

---A zoned date-time as the API writes it: "2025-06-02T18:30:00.000+02:00[Europe/Berlin]";
---`minutes` counts from the day's midnight, `zone` is the tenant's offset and region.
function _M.datetime(day, minutes, zone)
  return ("%sT%02d:%02d:00.000%s"):format(_M.date(day + floor(minutes / 1440)),
    floor(minutes / 60) % 24, minutes % 60, zone)
end

local Ids = {}
Ids.__index = Ids

---Ids of a kind of record, spaced out so that a cursor holding one means something:
---id(k) = base + step * k + k % spread (spread < step keeps them strictly increasing).
function _M.ids(base, step, spread)
  assert(spread < step, "gen.ids: spread must be smaller than step")
  return setmetatable({ base = base, step = step, spread = spread }, Ids)
end

function Ids:id(k)
  return self.base + self.step * k + k % self.spread
end

---The index k (1 ≤ k ≤ n) of an id, or nil when no record of the n has it.
function Ids:index(id, n)
  local k = floor((id - self.base) / self.step)
  if k >= 1 and k <= n and self:id(k) == id then return k end
  return nil
end

---The index of the first record whose id is greater than `id` (n + 1 when none is).
function Ids:after(id, n)
  local k = floor((id - self.base) / self.step) - 1
  if k < 1 then k = 1 elseif k > n + 1 then k = n + 1 end
  while k <= n and self:id(k) <= id do k = k + 1 end
  return k
end

return _M
