--- Friendly Lua names for every operation of the API: `client.customers:get(42)`.
-- One namespace per area of the API; each method is thin Lua over `client:call(operationId, …)`.
-- Calling convention of a friendly method:
--   ns:method(<required path parameters, in path order>, [first table], [second table])
--   * an operation with a JSON body: first table = the body, second = query parameters;
--   * any other operation: first table = query parameters (and `parts` for uploads);
--   * a chunked list returns a pager (its `items()` and `pages()` iterate); the second table is
--     then the pager's options ({offset, skip, max_items}).
-- `ns:each(query, opts)` exists where the namespace has a `list`: an iterator over every record.
local operations = require "studioapi.operations"

local _M = {}

-- operationId → "namespace:method". Short names where a clear one exists, snake_case otherwise.
_M.NAMES = {
  -- Appointments
  bookAppointmentBooking = "appointments:book",
  deleteAppointmentBooking = "appointments:cancel_booking",
  getAppointmentBooking = "appointments:booking",
  getAppointmentBookings = "appointments:bookings",
  getBookableAppointment = "appointments:bookable",
  getBookableAppointmentSlots = "appointments:slots",
  getBookableAppointments = "appointments:list",
  validateForAppointmentBooking = "appointments:validate",
  -- Checkin vouchers
  redeemCheckinVoucher = "checkin_vouchers:redeem",
  -- Classes
  bookClassSlot = "classes:book",
  cancelClassSlotById = "classes:cancel_booking",
  getActiveClasses = "classes:list",
  getClassBookingById = "classes:booking",
  getClassBookingsByCustomerId = "classes:bookings",
  getClassById = "classes:get",
  getClassSlotById = "classes:slot",
  getClassSlots = "classes:slots",
  validateClassSlot = "classes:validate",
  -- Cross Studio
  getCrossStudioCustomerBy = "cross_studio:customer_by",
  getCrossStudioCustomerById = "cross_studio:customer",
  getCrossStudioCustomersCheckinHistory = "cross_studio:checkins",
  getStudiosWithActiveMembershipOffers = "cross_studio:studios_with_offers",
  searchCrossStudioCustomers = "cross_studio:search_customers",
  -- Customers
  addAccessMedium = "customers:add_access_medium",
  addAccessMediums = "customers:add_access_mediums",
  createCustomer = "customers:create",
  createCustomerWeighing = "customers:add_weighing",
  deleteAccessMediums = "customers:delete_access_medium",
  deleteAccessRestriction = "customers:delete_access_restriction",
  getAdditionalInformationFields = "customers:additional_information_fields",
  getBenefits = "customers:benefits",
  getBenefitsByCardNumber = "customers:benefits_by_card",
  getCustomerAccessCode = "customers:access_code",
  getCustomerBy = "customers:by",
  getCustomerById = "customers:get",
  getCustomerContractsBy = "customers:contracts_by",
  getCustomerMeasurement = "customers:measurement",
  getCustomers = "customers:list",
  getCustomersCheckinHistory = "customers:checkins",
  getCustomersContracts = "customers:contracts",
  getDocumentById = "customers:document",
  getDocuments = "customers:documents",
  searchCustomers = "customers:search",
  setAccessRestriction = "customers:set_access_restriction",
  setAdditionalInformationFieldAssignments = "customers:set_additional_information",
  switchStudio = "customers:switch_studio",
  updateAccessMediums = "customers:update_access_medium",
  updateImage = "customers:set_image",
  uploadDocument = "customers:upload_document",
  useBenefit = "customers:use_benefit",
  -- Customers Account
  getCustomersAccountBalanceData = "accounts:balances",
  getCustomersAccountTransactionData = "accounts:transactions",
  getCustomersAccountUpcomingData = "accounts:upcoming",
  -- Customers Communication
  createCommunicationInExistingCommunicationThread = "communications:reply",
  createCommunicationInNewCommunicationThread = "communications:new_thread",
  getCommunicationPreferences = "communications:preferences",
  updateCommunicationPreferences = "communications:set_preferences",
  -- Customers Self-service
  createCustomerAddressDataAmendment = "self_service:amend_address_data",
  createCustomerContactDataAmendment = "self_service:amend_contact_data",
  createCustomerMasterDataAmendment = "self_service:amend_master_data",
  createCustomerPaymentDataAmendment = "self_service:amend_payment_data",
  getCustomerAddressData = "self_service:address_data",
  getCustomerContactData = "self_service:contact_data",
  getCustomerMasterData = "self_service:master_data",
  getCustomerPaymentData = "self_service:payment_data",
  withdrawAmendment = "self_service:withdraw_amendment",
  -- Devices
  activateDevice = "devices:activate",
  getDevices = "devices:list",
  -- Employees
  getEmployee = "employees:get",
  getEmployees = "employees:list",
  -- Finance
  confirmTransfer = "finance:confirm_transfer",
  createExport = "finance:create_tax_export",
  getDebtCollectionBlockedDebtors = "finance:blocked_debtors",
  getDebtCollectionBlockedDebts = "finance:blocked_debts",
  getDebtCollectionCases = "finance:debt_collection_cases",
  getDebtCollectionConfiguration = "finance:debt_collection_configuration",
  getDebtors = "finance:debtors",
  getExport = "finance:tax_export",
  getTransferDetails = "finance:transfer_details",
  updateDebtCollection = "finance:update_debt_collection",
  -- Membership Self-service (a customer's contracts)
  createContractCancelationAmendment = "contracts:cancel",
  createIdlePeriodAmendment = "contracts:add_idle_period",
  createModuleContractCancelationAmendment = "contracts:cancel_module",
  getAdditionalModuleContract = "contracts:module",
  getAdditionalModules = "contracts:additional_modules",
  getContractCancelationReasonData = "contracts:cancelation_reasons",
  getContractData = "contracts:data",
  getIdlePeriodConfig = "contracts:idle_period_config",
  getIdlePeriods = "contracts:idle_periods",
  getPurchasableAdditionalModules = "contracts:purchasable_modules",
  purchaseAdditionalModuleContract = "contracts:purchase_module",
  validateAdditionalModuleContractRequest = "contracts:validate_module",
  validateIdlePeriodRequest = "contracts:validate_idle_period",
  withdrawAdditionalModuleContractCancelation = "contracts:withdraw_module_cancelation",
  withdrawContractCancelation = "contracts:withdraw_cancelation",
  withdrawIdlePeriod = "contracts:withdraw_idle_period",
  -- Memberships
  addMembership = "memberships:add",
  getMembershipOfferById = "memberships:offer",
  getMembershipOffers = "memberships:offers",
  getMembershipSwitchConfigurationByIdForCustomer = "memberships:switch_config",
  getMembershipSwitchConfigurationsForCustomer = "memberships:switch_configs",
  getMembershipSwitchPreview = "memberships:switch_preview",
  getSignupPreview = "memberships:signup_preview",
  signupMembership = "memberships:signup",
  switchMembership = "memberships:switch",
  -- Payments
  userSession = "payments:user_session",
  -- Studios
  confirmActivation = "studios:confirm_activation",
  getStudioInformation = "studios:information",
  getUtilization = "studios:utilization",
  -- Trial Offers
  bookAppointmentForTrialOffer = "trial_offers:book_appointment",
  bookClassSlotForTrialOffers = "trial_offers:book_class",
  confirmTrialOfferBooking = "trial_offers:confirm_booking",
  createLeadCustomer = "trial_offers:create_lead",
  getBookableAppointmentSlotsForTrialOffers = "trial_offers:appointment_slots",
  getBookableTrialOfferAppointments = "trial_offers:appointments",
  getBookableTrialOfferClasses = "trial_offers:classes",
  getClassSlotsForTrialOffers = "trial_offers:class_slots",
  getTrialOfferConfig = "trial_offers:config",
  validateClassSlotForTrialOffers = "trial_offers:validate_class",
  validateForAppointmentBookingForTrialOffers = "trial_offers:validate_appointment",
  validateForLeadCustomerCreation = "trial_offers:validate_lead",
}

local function path_params(op)
  local names = {}
  for name in op.path:gmatch("{([^}]+)}") do names[#names + 1] = name end
  return names
end

-- The signature shown in the reference: "customers:get(customerId, [query])".
local function signature(op_id, name)
  local op = operations.operations[op_id]
  local args = path_params(op)
  if op.body and op.body.kind == "json" then
    args[#args + 1] = "body"
    args[#args + 1] = "[query]"
  elseif op.chunked then
    args[#args + 1] = "[query]"
    args[#args + 1] = "[pager opts]"
  else
    args[#args + 1] = "[query]"
  end
  return ("%s(%s)"):format(name, table.concat(args, ", "))
end

--- operationId → "namespace:method(args)", for the generated reference.
_M.friendly = {}
for op_id, name in pairs(_M.NAMES) do
  _M.friendly[op_id] = signature(op_id, name)
end

-- Builds one friendly method over `call` / `pager`.
local function method_for(op_id)
  local op = operations.operations[op_id]
  local names = path_params(op)
  local n = #names
  local json_body = op.body and op.body.kind == "json"
  return function(ns, ...)
    local client = ns._client
    local params = {}
    for i = 1, n do
      local v = select(i, ...)
      if v == nil then
        error(("%s: argument #%d (%s) is required"):format(_M.NAMES[op_id], i, names[i]), 2)
      end
      params[names[i]] = v
    end
    local first, second = select(n + 1, ...)
    if first ~= nil and type(first) ~= "table" then
      error(("%s: expected a table after the path arguments, got %s")
            :format(_M.NAMES[op_id], type(first)), 2)
    end
    if json_body then
      params.body = first
      for k, v in pairs(second or {}) do params[k] = v end
    else
      for k, v in pairs(first or {}) do params[k] = v end
    end
    if op.chunked then return client:pager(op_id, params, second) end
    return client:call(op_id, params)
  end
end

-- Namespace tables, built once: name → { method = function(ns, ...) }.
local NAMESPACES = {}
for op_id, full in pairs(_M.NAMES) do
  assert(operations.operations[op_id], "resources: unknown operation " .. op_id)
  local ns, method = full:match("^([%w_]+):([%w_]+)$")
  NAMESPACES[ns] = NAMESPACES[ns] or {}
  NAMESPACES[ns][method] = method_for(op_id)
end
for _, methods in pairs(NAMESPACES) do
  if methods.list then
    methods.each = function(ns, query, opts)
      return methods.list(ns, query, opts):items()
    end
  end
end
_M.NAMESPACES = NAMESPACES

--- Gives `client` one bound table per namespace (`client.customers`, `client.studios`, …).
function _M.attach(client)
  for name, methods in pairs(NAMESPACES) do
    client[name] = setmetatable({ _client = client }, { __index = methods })
  end
end

return _M
