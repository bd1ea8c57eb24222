-- Writes that change the sandbox and emit their webhook (sandbox.webhooks):
--   POST /customers/create           a prospect, fetchable by id   CUSTOMER_CREATED
--   POST /memberships/signup         a member (no contract kept)   CUSTOMER_CREATED
--   POST /classes/booking/book       a booking, fetchable by id    CLASS_BOOKING_CREATED
--   DELETE /classes/booking/{id}     that booking CANCELED         CLASS_BOOKING_CANCELLED
--   POST /appointments/booking/book  a booking, fetchable by id    APPOINTMENT_BOOKING_CREATED
--   DELETE /appointments/booking/{id}  that booking CANCELED       APPOINTMENT_BOOKING_CANCELLED
-- Bodies are checked against their schema (required fields, types); ids in them are not looked
-- up (as in the generic responder), except that a created record gets a new id beyond the
-- generated ones. The records live in sandbox.store until a reset.

local appointments = require "sandbox.appointments"
local check = require "sandbox.check"
local gen = require "sandbox.gen"
local json = require "sandbox.json"
local operations = require "sandbox.operations"
local respond = require "sandbox.respond"
local store = require "sandbox.store"
local webhooks = require "sandbox.webhooks"

local ngx = ngx
local floor = math.floor
local schemas = operations.schemas

local _M = {}

-- The body against a schema; nil after answering 400 (reference prefix .. field).
local function checked(req, value, schema, prefix)
  if type(value) ~= "table" or value[1] ~= nil then
    return respond.invalid(req, prefix and prefix:sub(1, -2) or "body")
  end
  local field, code = check.field_violation(value, schemas[schema])
  if field then return respond.invalid(req, (prefix or "") .. field, code) end
  return value
end

-- Fields copied as they are from MembershipSignupCustomer to Customer.
local SAME = {
  "firstName", "secondFirstName", "lastName", "secondLastName", "dateOfBirth", "email",
  "gender", "street", "houseNumber", "zipCode", "city", "thirdPartyId", "secondStreet",
  "cityPart", "district", "streetType", "streetBlock", "portal", "stairway", "door", "province",
  "additionalAddressInformation", "floor", "buildingName",
}

-- A Customer from a MembershipSignupCustomer, with a new id.
local function new_customer(tenant, body, status)
  local id = store.next_id(tenant, "customer")
  local c = {
    id = id, customerNumber = ("%d"):format(id), status = status,
    country = body.countryCode,
    phonePrivate = body.phoneNumberPrivate, phonePrivateMobile = body.phoneNumberMobile,
    accessRefusal = false, uuid = webhooks.uuid(), studioId = tenant.studio_id,
    createdDateTime = gen.datetime(gen.TODAY, floor(ngx.now() / 60) % 1440, tenant.zone),
    cardNumbers = json.array({}), accessMediums = json.array({}), idlePeriods = json.array({}),
    accessRestrictions = json.array({}),
    additionalInformationFieldAssignments = json.array({}),
  }
  for _, name in ipairs(SAME) do
    if type(body[name]) == "string" then c[name] = body[name] end
  end
  local language = body.language
  if type(language) == "table" and type(language.languageCode) == "string" then
    c.preferredLanguage = { languageCode = language.languageCode,
      countryCode = type(language.countryCode) == "string" and language.countryCode or nil }
  end
  local assignments = body.additionalInformationFieldAssignments
  if type(assignments) == "table" and assignments[1] ~= nil then
    c.additionalInformationFieldAssignments = assignments
  end
  store.put_customer(tenant, c)
  return c
end

-- POST /customers/create: OpenApiV1CustomerCreateResult {customerId}.
function _M.create_customer(req)
  local body = checked(req, req.body, "MembershipSignupCustomer")
  if not body then return end
  local c = new_customer(req.tenant, body, "PROSPECT")
  webhooks.emit(req.tenant, "CUSTOMER_CREATED", c.id)
  return respond.json(req, 200, { customerId = c.id })
end

-- POST /memberships/signup: MembershipSignupResult {customerId}.
function _M.signup(req)
  local body = checked(req, req.body, "MembershipSignupRequest")
  if not body then return end
  local customer = checked(req, body.customer, "MembershipSignupCustomer", "customer.")
  if not customer then return end
  local c = new_customer(req.tenant, customer, "MEMBER")
  webhooks.emit(req.tenant, "CUSTOMER_CREATED", c.id)
  return respond.json(req, 200, { customerId = c.id })
end

-- POST /classes/booking/book: ClassSlotBookingResult; a slot id is classId * 100 + j.
function _M.book_class(req)
  local body = checked(req, req.body, "ClassSlotBookingRequest")
  if not body then return end
  local booking = {
    bookingId = store.next_id(req.tenant, "booking"), bookingStatus = "BOOKED",
    classId = floor(body.classSlotId / 100), classSlotId = body.classSlotId,
    customerId = body.customerId, classSlotStatus = "PLANNED", participantStatus = "UNSET",
  }
  store.put_booking(req.tenant, "class", booking)
  webhooks.emit(req.tenant, "CLASS_BOOKING_CREATED", booking.bookingId)
  return respond.json(req, 200, booking)
end

-- DELETE /classes/booking/{bookingId}: 200 without a body.
function _M.cancel_class(req, raw_id)
  local id = tonumber(raw_id)
  local booking = store.booking(req.tenant, "class", id)
  if booking then
    booking.bookingStatus = "CANCELED"
    store.put_booking(req.tenant, "class", booking)
  end
  webhooks.emit(req.tenant, "CLASS_BOOKING_CANCELLED", id)
  return respond.raw(req, 200, "")
end

-- POST /appointments/booking/book: AppointmentBookingResult (the stored one keeps customerId
-- for GET /appointments/booking/{id}).
function _M.book_appointment(req)
  local body = checked(req, req.body, "AppointmentBookingRequest")
  if not body then return end
  local tenant = req.tenant
  local booking = {
    bookingId = store.next_id(tenant, "booking"), bookingStatus = "BOOKED",
    customerId = body.customerId, startDateTime = body.startDateTime,
    endDateTime = body.endDateTime, appointmentStatus = "PLANNED", participantStatus = "UNSET",
    instructors = json.array({}),
  }
  local k = appointments.index_of(tenant, body.bookableAppointmentId)
  if k then
    local a = appointments.appointment(tenant, k)
    booking.title, booking.duration, booking.category = a.title, a.duration, a.category
    booking.description, booking.imgUrl = a.description, a.imgUrl
  end
  store.put_booking(tenant, "appointment", booking)
  webhooks.emit(tenant, "APPOINTMENT_BOOKING_CREATED", booking.bookingId)
  local answer = {}
  for name, v in pairs(booking) do answer[name] = v end
  answer.customerId = nil
  return respond.json(req, 200, answer)
end

-- DELETE /appointments/booking/{bookingId}: VoidResult.
function _M.cancel_appointment(req, raw_id)
  local id = tonumber(raw_id)
  local booking = store.booking(req.tenant, "appointment", id)
  if booking then
    booking.bookingStatus, booking.appointmentStatus = "CANCELED", "CANCELED"
    store.put_booking(req.tenant, "appointment", booking)
  end
  webhooks.emit(req.tenant, "APPOINTMENT_BOOKING_CANCELLED", id)
  return respond.json(req, 200, { success = "true" })
end

return _M
