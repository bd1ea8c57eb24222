-- Classes, their slots and the customers' class bookings, derived from (tenant seed, id) like
-- everything else. A tenant has `tenant.classes` classes (acme: 2,345); class k has id
-- 20000 + 13k + k % 5. A bookable class has 1–30 slots, another 0–5, from a day back to two
-- weeks ahead of the sandbox's today; slot j of a class has id classId * 100 + j. Members have
-- 1–4 class bookings, with ids customerId * 10 + k (k = 1–4).

local customers = require "sandbox.customers"
local gen = require "sandbox.gen"
local json = require "sandbox.json"
local studio = require "sandbox.studio"

local floor = math.floor

local _M = {}

local IDS = gen.ids(20000, 13, 5)
_M.IDS = IDS

local KINDS = {
  { "Yoga Flow", "Mind & Body" }, { "Power Yoga", "Mind & Body" }, { "Pilates", "Mind & Body" },
  { "Spinning", "Cardio" }, { "HIIT", "Cardio" }, { "Zumba", "Dance" }, { "Bodypump", "Strength" },
  { "Boxfit", "Strength" }, { "Rückenfit", "Strength" }, { "Aqua Fitness", "Water" },
  { "Stretch & Relax", "Mind & Body" }, { "Functional Training", "Strength" },
}
local DESCRIPTIONS = {
  en = "%s for every level, %d minutes.",
  de = "%s für alle Level, %d Minuten.",
}
local LOCATIONS = {
  { id = 1, name = "Studio 1", description = "Ground floor" },
  { id = 2, name = "Studio 2" },
  { id = 3, name = "Cycling room", description = "Second floor" },
  { id = 4, name = "Livestream" },
}

-- Class k and what its slots need: the number of slots and the first start (minutes).
local function schedule(tenant, k)
  local id = IDS:id(k)
  local r = gen.rng(tenant.seed, id, 4)
  local kind = r:pick(KINDS)
  local duration = r:pick({ 30, 45, 60, 75, 90 })
  local stream = r:chance(10)
  local c = {
    id = id, title = kind[1], type = stream and "STREAM" or "STUDIO", duration = duration,
    category = kind[2],
    description = (DESCRIPTIONS[tenant.language] or DESCRIPTIONS.en):format(kind[1], duration),
    imgUrl = ("https://images.example.com/%s/classes/%d.jpg"):format(tenant.name, id),
    bookable = r:chance(85),
  }
  local slots = c.bookable and r:int(1, 30) or r:int(0, 5)
  local start = r:int(12, 30) * 30 -- 06:00 to 15:00
  local location = stream and LOCATIONS[4] or LOCATIONS[r:int(1, 3)]
  return c, slots, start, location
end

---Class k of the tenant (1 ≤ k ≤ tenant.classes).
function _M.class(tenant, k)
  return (schedule(tenant, k))
end

---The index of the class with this id, or nil.
function _M.index_of(tenant, id)
  return IDS:index(id, tenant.classes)
end

---The number of slots of class k.
function _M.slot_count(tenant, k)
  local _, slots = schedule(tenant, k)
  return slots
end

---Slot j of class k: spread over a day back to two weeks ahead, up to three a day.
function _M.slot(tenant, k, j)
  local c, m, start, location = schedule(tenant, k)
  local id = c.id * 100 + j
  local r = gen.rng(tenant.seed, id, 5)
  local day = gen.TODAY - 1 + floor((j - 1) * 15 / m)
  local at = start + ((j - 1) % 3) * 150
  local zone = tenant.zone
  local max = r:int(8, 30)
  local booked = r:int(0, max)
  return {
    id = id,
    startDateTime = gen.datetime(day, at, zone),
    endDateTime = gen.datetime(day, at + c.duration, zone),
    instructors = json.array({ studio.instructor(tenant, r:int(1, tenant.employees)) }),
    location = location,
    earliestBookingDateTime = gen.datetime(day - 7, at, zone),
    latestBookingDateTime = gen.datetime(day, at - 60, zone),
    maxParticipants = max, maxWaitingListParticipants = 5, bookedParticipants = booked,
    additionalParticipants = 0, waitingListParticipants = booked == max and r:int(0, 5) or 0,
  }
end

---The slot index j of a slot id within class k, or nil.
function _M.slot_index(tenant, k, slot_id)
  local j = slot_id - IDS:id(k) * 100
  if j >= 1 and j <= _M.slot_count(tenant, k) then return j end
  return nil
end

---How many class bookings customer i has: members 1–4, others none.
function _M.booking_count(tenant, i)
  if customers.status(i) ~= "MEMBER" then return 0 end
  return gen.rng(tenant.seed, customers.id_of(i), 6):int(1, 4)
end

---Class booking k of customer i (ClassSlotBookingResult), on a slot of a bookable class.
function _M.booking(tenant, i, k)
  local customer_id = customers.id_of(i)
  local id = customer_id * 10 + k
  local r = gen.rng(tenant.seed, id, 7)
  local ck
  for _ = 1, 50 do -- bookable classes have slots; most classes are bookable
    ck = r:int(1, tenant.classes)
    if _M.class(tenant, ck).bookable then break end
  end
  local m = _M.slot_count(tenant, ck)
  local j = r:int(1, m)
  local past = floor((j - 1) * 15 / m) < 1 -- yesterday's slots are over
  local status = r:pick({ "BOOKED", "BOOKED", "BOOKED", "WAITING_LIST",
    "BOOKED_WITH_CONFIRMATION_REQUIRED", "CANCELED" })
  local participant = "UNSET"
  if past and status == "BOOKED" then
    participant = r:chance(85) and "PARTICIPATING" or "NOT_PARTICIPATING"
  end
  return {
    bookingId = id, bookingStatus = status, classSlotId = IDS:id(ck) * 100 + j,
    classId = IDS:id(ck), customerId = customer_id,
    classSlotStatus = past and "COMPLETED" or "PLANNED", participantStatus = participant,
  }
end

---Customer index and booking number of a class booking id, or nil.
function _M.booking_of(tenant, id)
  local i = customers.index_of(tenant, floor(id / 10))
  local k = id % 10
  if i and k >= 1 and k <= _M.booking_count(tenant, i) then return i, k end
  return nil
end

return _M
