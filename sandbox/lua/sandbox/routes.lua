-- Where a request goes. /v1/_test/ routes by pattern; every other /v1 path by its operation in
-- the operations table (sandbox.operations): the request is checked against the operation
-- (sandbox.check), then a stateful handler answers if the operation has one (STATEFUL), the
-- generic responder (sandbox.generic) otherwise. A path that matches no operation of its method
-- is a 404 like an unknown path: the API has no 405.

local api = require "sandbox.api"
local check = require "sandbox.check"
local generic = require "sandbox.generic"
local operations = require "sandbox.operations"
local schedule = require "sandbox.schedule"
local test = require "sandbox.testroutes"
local uploads = require "sandbox.uploads"
local writes = require "sandbox.writes"

local unpack = table.unpack or unpack -- luacheck: ignore 143

local _M = {}

-- Stateful handlers by operationId; each gets (req, path values…).
local STATEFUL = {
  getStudioInformation = api.studio_information,
  getUtilization = api.utilization,
  getCustomers = api.customers,
  getCustomerById = api.customer,
  getCustomersContracts = api.contracts,
  getCustomerBy = api.customer_by,
  getCustomerContractsBy = api.contracts_by,
  searchCustomers = api.search,
  getCustomersCheckinHistory = api.checkins,
  getCustomersAccountBalanceData = api.balances,
  getCustomersAccountTransactionData = api.transactions,
  getCustomersAccountUpcomingData = api.upcoming,
  getDocuments = api.documents,
  getDocumentById = api.document,
  getEmployees = api.employees,
  getEmployee = api.employee,
  getMembershipOffers = api.offers,
  getMembershipOfferById = api.offer,
  getDevices = api.devices,
  getActiveClasses = schedule.classes,
  getClassById = schedule.class,
  getClassSlots = schedule.slots,
  getClassSlotById = schedule.slot,
  getClassBookingsByCustomerId = schedule.class_bookings,
  getClassBookingById = schedule.class_booking,
  getBookableAppointments = schedule.appointments,
  getBookableAppointment = schedule.appointment,
  getBookableAppointmentSlots = schedule.appointment_slots,
  getAppointmentBookings = schedule.appointment_bookings,
  getAppointmentBooking = schedule.appointment_booking,
  -- uploads (multipart, sandbox.uploads) and writes that emit webhooks (sandbox.writes)
  uploadDocument = uploads.upload_document,
  updateImage = uploads.update_image,
  createIdlePeriodAmendment = uploads.create_idle_period,
  createCustomer = writes.create_customer,
  signupMembership = writes.signup,
  bookClassSlot = writes.book_class,
  cancelClassSlotById = writes.cancel_class,
  bookAppointmentBooking = writes.book_appointment,
  deleteAppointmentBooking = writes.cancel_appointment,
}
_M.STATEFUL = STATEFUL

-- Handlers that check their own parameters: GET /customers accepts FORMER_MEMBER as newer API
-- versions do, which the table (1.5.0) does not list.
local OWN_CHECKS = { getCustomers = true }

-- The test routes: method ("*" = any), a Lua pattern on the decoded path, the handler.
local TEST_ROUTES = {
  { "GET", "^/v1/_test/slow$", test.slow },
  { "GET", "^/v1/_test/not%-json$", test.not_json },
  { "GET", "^/v1/_test/html$", test.html },
  { "GET", "^/v1/_test/close$", test.close },
  { "GET", "^/v1/_test/empty$", test.empty },
  { "*", "^/v1/_test/echo$", test.echo },
  { "GET", "^/v1/_test/status/(%d+)$", test.status },
  { "GET", "^/v1/_test/redirect$", test.redirect },
  { "GET", "^/v1/_test/big$", test.big },
  { "POST", "^/v1/_test/multipart%-echo$", uploads.echo },
}

-- Checks the request against its operation, then answers it.
local function serve(req, op_id, op, values)
  req.op_id, req.op = op_id, op
  if not OWN_CHECKS[op_id] and not check.request(req, op, values) then return end
  local handler = STATEFUL[op_id]
  if handler then return handler(req, unpack(values)) end
  return generic.answer(req, op, values)
end

---The handler for a request and its arguments after req, or nil: (handler, captures…) for a
---test route, (serve, op_id, op, path values) for an operation.
function _M.find(method, path)
  for _, route in ipairs(TEST_ROUTES) do
    if route[1] == method or route[1] == "*" then
      local found, _, c1, c2 = path:find(route[2])
      if found then return route[3], c1, c2 end
    end
  end
  local op_id, op, values = operations.match(method, path)
  if op_id then return serve, op_id, op, values end
  return nil
end

return _M
