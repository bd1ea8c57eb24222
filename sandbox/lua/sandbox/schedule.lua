-- Handlers of the stateful schedule routes: classes and their slots, bookable appointments and
-- their free slots, and the customers' bookings of both. Parameters are checked against the
-- operations table before (sandbox.check); unknown ids answer 404 here. Bookings made through
-- the API (sandbox.writes) are found by id.

local api = require "sandbox.api"
local appointments = require "sandbox.appointments"
local chunk = require "sandbox.chunk"
local classes = require "sandbox.classes"
local gen = require "sandbox.gen"
local json = require "sandbox.json"
local respond = require "sandbox.respond"
local store = require "sandbox.store"

local _M = {}

local not_found = api.not_found

-- GET /classes: cursor mode over every class of the tenant.
function _M.classes(req)
  local tenant = req.tenant
  return chunk.cursor(req, tenant.classes, classes.IDS, function(k)
    return classes.class(tenant, k)
  end)
end

-- The class index for a path id, or nil after answering 404.
local function find_class(req, raw)
  local k = classes.index_of(req.tenant, tonumber(raw))
  if not k then return not_found(req, "Class", raw) end
  return k
end

function _M.class(req, raw_id)
  local k = find_class(req, raw_id)
  if not k then return end
  return respond.json(req, 200, classes.class(req.tenant, k))
end

-- GET /classes/{id}/slots: slice mode over the class's slots.
function _M.slots(req, raw_id)
  local k = find_class(req, raw_id)
  if not k then return end
  local tenant = req.tenant
  return chunk.slice(req, classes.slot_count(tenant, k), function(j)
    return classes.slot(tenant, k, j)
  end)
end

function _M.slot(req, raw_id, raw_slot)
  local k = find_class(req, raw_id)
  if not k then return end
  local j = classes.slot_index(req.tenant, k, tonumber(raw_slot))
  if not j then return not_found(req, "ClassSlot", raw_slot) end
  return respond.json(req, 200, classes.slot(req.tenant, k, j))
end

-- GET /classes/booking?customerId=: the customer's class bookings, a bare array.
function _M.class_bookings(req)
  local id, i = api.find_any(req, req.args.customerId)
  if not id then return end
  if not i then return respond.json(req, 200, json.array({})) end -- created: none yet
  local list = {}
  for k = 1, classes.booking_count(req.tenant, i) do list[k] = classes.booking(req.tenant, i, k) end
  return respond.json(req, 200, json.array(list))
end

function _M.class_booking(req, raw_id)
  local made = store.booking(req.tenant, "class", tonumber(raw_id))
  if made then return respond.json(req, 200, made) end
  local i, k = classes.booking_of(req.tenant, tonumber(raw_id))
  if not i then return not_found(req, "ClassSlotBookingResult", raw_id) end
  return respond.json(req, 200, classes.booking(req.tenant, i, k))
end

-- GET /appointments/bookable: cursor mode over the bookable appointments.
function _M.appointments(req)
  local tenant = req.tenant
  return chunk.cursor(req, appointments.COUNT, appointments.IDS, function(k)
    return appointments.appointment(tenant, k)
  end)
end

local function find_appointment(req, raw)
  local k = appointments.index_of(req.tenant, tonumber(raw))
  if not k then return not_found(req, "BookableAppointment", raw) end
  return k
end

function _M.appointment(req, raw_id)
  local k = find_appointment(req, raw_id)
  if not k then return end
  return respond.json(req, 200, appointments.appointment(req.tenant, k))
end

-- GET /appointments/bookable/{id}/slots: the free slots of `daysAhead` days (default 1) from
-- slotWindowStartDate (default the sandbox's today); a customerId given must exist.
function _M.appointment_slots(req, raw_id)
  local k = find_appointment(req, raw_id)
  if not k then return end
  local args = req.args
  if args.customerId ~= nil and args.customerId ~= "" then
    if not api.find_customer(req, args.customerId) then return end
  end
  local days = tonumber(args.daysAhead) or 1
  local first = api.day_of(args.slotWindowStartDate) or gen.TODAY
  return respond.json(req, 200, json.array(appointments.slots(req.tenant, k, first, days)))
end

-- GET /appointments/booking?customerId=: a bare array of AppointmentBookingResult (without
-- the customerId that the single booking carries).
function _M.appointment_bookings(req)
  local id, i = api.find_any(req, req.args.customerId)
  if not id then return end
  if not i then return respond.json(req, 200, json.array({})) end -- created: none yet
  local list = {}
  for k = 1, appointments.booking_count(req.tenant, i) do
    local b = appointments.booking(req.tenant, i, k)
    b.customerId = nil
    list[k] = b
  end
  return respond.json(req, 200, json.array(list))
end

function _M.appointment_booking(req, raw_id)
  local made = store.booking(req.tenant, "appointment", tonumber(raw_id))
  if made then return respond.json(req, 200, made) end
  local i, k = appointments.booking_of(req.tenant, tonumber(raw_id))
  if not i then return not_found(req, "AppointmentBookingResult", raw_id) end
  return respond.json(req, 200, appointments.booking(req.tenant, i, k))
end

return _M
