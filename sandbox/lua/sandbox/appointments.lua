-- Bookable appointments, their free slots and the customers' appointment bookings. Every tenant
-- offers 24 appointments; appointment k has id 7000 + 17k + k % 3. Each day has 0–4 free slots
-- per appointment, from 08:00. Members have 1–3 appointment bookings within two weeks of the
-- sandbox's today, with ids customerId * 10 + 5 + k (k = 1–3).

local customers = require "sandbox.customers"
local gen = require "sandbox.gen"
local json = require "sandbox.json"
local studio = require "sandbox.studio"

local floor = math.floor

local _M = {}

_M.COUNT = 24
local IDS = gen.ids(7000, 17, 3)
_M.IDS = IDS

local KINDS = {
  { "Intro session", "Onboarding", 60 }, { "Body composition analysis", "Health", 30 },
  { "Personal training", "Training", 60 }, { "Physio check", "Health", 45 },
  { "Nutrition consultation", "Health", 45 }, { "Massage", "Wellness", 30 },
  { "Training plan review", "Training", 30 }, { "Solarium", "Wellness", 15 },
}

---Appointment k (BookableAppointment).
function _M.appointment(tenant, k)
  local id = IDS:id(k)
  local kind = KINDS[(k + tenant.seed) % #KINDS + 1]
  return {
    id = id, title = kind[1], category = kind[2], duration = kind[3],
    description = ("%s, %d minutes, by appointment."):format(kind[1], kind[3]),
    imgUrl = ("https://images.example.com/%s/appointments/%d.jpg"):format(tenant.name, id),
  }
end

---The index of the appointment with this id, or nil.
function _M.index_of(_, id)
  return IDS:index(id, _M.COUNT)
end

---The free slots (BookableAppointmentSlot) of appointment k on `days` days from day `first`.
function _M.slots(tenant, k, first, days)
  local a = _M.appointment(tenant, k)
  local list = {}
  for day = first, first + days - 1 do
    local r = gen.rng(tenant.seed, a.id, day)
    local at = 8 * 60
    for _ = 1, r:int(0, 4) do
      at = at + r:int(0, 3) * 30
      list[#list + 1] = {
        startDateTime = gen.datetime(day, at, tenant.zone),
        endDateTime = gen.datetime(day, at + a.duration, tenant.zone),
        instructors = json.array({ studio.instructor(tenant, r:int(1, tenant.employees)) }),
      }
      at = at + a.duration
    end
  end
  return list
end

---How many appointment bookings customer i has: members 1–3, others none.
function _M.booking_count(tenant, i)
  if customers.status(i) ~= "MEMBER" then return 0 end
  return gen.rng(tenant.seed, customers.id_of(i), 15):int(1, 3)
end

---Appointment booking k of customer i (AppointmentBookingResultWithCustomerId).
function _M.booking(tenant, i, k)
  local customer_id = customers.id_of(i)
  local id = customer_id * 10 + 5 + k
  local r = gen.rng(tenant.seed, id, 16)
  local a = _M.appointment(tenant, r:int(1, _M.COUNT))
  local day = gen.TODAY + r:int(-14, 14)
  local at = 8 * 60 + r:int(0, 18) * 30
  local status = r:pick({ "BOOKED", "BOOKED", "BOOKED", "BOOKED_WITH_CONFIRMATION_REQUIRED",
    "CANCELED" })
  local appointment, participant = "PLANNED", "UNSET"
  if status == "CANCELED" then
    appointment = "CANCELED"
  elseif day < gen.TODAY then
    appointment = "COMPLETED"
    participant = r:chance(90) and "PARTICIPATING" or "NOT_PARTICIPATING"
  end
  return {
    bookingId = id, bookingStatus = status, customerId = customer_id,
    startDateTime = gen.datetime(day, at, tenant.zone),
    endDateTime = gen.datetime(day, at + a.duration, tenant.zone),
    title = a.title, duration = a.duration, category = a.category,
    description = a.description, imgUrl = a.imgUrl,
    instructors = json.array({ studio.instructor(tenant, r:int(1, tenant.employees)) }),
    appointmentStatus = appointment, participantStatus = participant,
  }
end

---Customer index and booking number of an appointment booking id, or nil.
function _M.booking_of(tenant, id)
  local i = customers.index_of(tenant, floor(id / 10))
  local k = id % 10 - 5
  if i and k >= 1 and k <= _M.booking_count(tenant, i) then return i, k end
  return nil
end

return _M
