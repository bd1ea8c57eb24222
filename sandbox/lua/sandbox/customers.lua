-- Customers and their contracts, derived from (tenant seed, customer index). Nothing is stored:
-- customer i of a tenant always looks the same, which is what lets specs walk a million of them.

local gen = require "sandbox.gen"
local json = require "sandbox.json"
local names = require "sandbox.names"

local floor = math.floor
local array = json.array

local _M = {}

-- Ids are not contiguous, so a cursor that holds an id means something:
-- id(i) = 1000 + 7i + i % 3, strictly increasing in steps of 5 to 8.
local function id_of(i)
  return 1000 + 7 * i + i % 3
end
_M.id_of = id_of

---The index of the customer with this id, or nil. As i % 3 < 7, floor((id - 1000) / 7) is i.
function _M.index_of(tenant, id)
  local i = floor((id - 1000) / 7)
  if i >= 1 and i <= tenant.customers and id_of(i) == id then return i end
  return nil
end

---The index of the first customer whose id is greater than `offset` (customers + 1 if none).
function _M.first_after(tenant, offset)
  local n = tenant.customers
  local i = floor((offset - 1000) / 7) - 1
  if i < 1 then i = 1 elseif i > n + 1 then i = n + 1 end
  while i <= n and id_of(i) <= offset do i = i + 1 end
  return i
end

---The status of customer i: a fixed pattern of period 20, so filters stay cheap to walk.
function _M.status(i)
  local r = i % 20
  if r == 3 then return "PROSPECT" end
  if r == 11 then return "FORMER_MEMBER" end
  return "MEMBER"
end

-- A 32-bit card serial in the requested cardNumberFormat.
local function card(n, format)
  if format == "HEX_MSB" then return ("%08X"):format(n) end
  if format == "HEX_LSB" then
    local b0, b1 = n % 256, floor(n / 256) % 256
    local b2, b3 = floor(n / 65536) % 256, floor(n / 16777216)
    return ("%02X%02X%02X%02X"):format(b0, b1, b2, b3)
  end
  return ("%d"):format(n)
end

-- The serial of a card as `card` wrote it, or nil.
local function card_serial(value, format)
  if format == "DECIMAL" then
    return value:find("^%d+$") and #value <= 10 and tonumber(value) or nil
  end
  if not value:find("^%x%x%x%x%x%x%x%x$") then return nil end
  if format == "HEX_LSB" then value = value:gsub("(%x%x)(%x%x)(%x%x)(%x%x)", "%4%3%2%1") end
  return tonumber(value, 16)
end

-- Card k of the customer with this id has serial CARD_BASE + (10 id + k) * CARD_STEP: below 2^32
-- for a million customers, and the way back from a card number to its customer is arithmetic.
local CARD_BASE, CARD_STEP = 1234567, 61

local function money(tenant, cents)
  return { amount = cents / 100, currency = tenant.currency }
end

local function sub_contract(tenant, r, id, start, status)
  local cents = r:int(3, 12) * 100 - 1
  return {
    id = id, rateName = "Towel service", startDate = gen.date(start),
    paymentFrequency = "RECURRING", price = cents / 100,
    priceDetails = {
      basePrice = money(tenant, cents), currentPrice = money(tenant, cents),
      paymentFrequency = { type = "RECURRING", term = { value = 1, unit = "MONTH" } },
    },
    cancelled = false, contractStatus = status,
  }
end

-- Contract k of a customer; k = 1 is the newest and the only one that may be active.
local function contract(tenant, r, words, customer_id, k, active)
  local id = customer_id * 10 + k
  local start = r:day({ 2024 - 3 * k, 1, 1 }, { 2026 - 3 * k, 12, 31 })
  local months = r:pick({ 1, 3, 12, 24 })
  local cents = r:int(15, 80) * 100 - 10
  local discount = r:chance(20) and 500 or 0
  local cancelled = not active and r:chance(60)
  local c = {
    id = id,
    createdDate = gen.date(start - r:int(1, 30)),
    startDate = gen.date(start),
    endDate = gen.date(start + months * 30 + 30 * 12),
    rateName = r:pick(words.rates),
    rateCodes = array({ { name = "Standard", identifier = ("RC-%d"):format(months) } }),
    contractStatus = active and "ACTIVE" or "INACTIVE",
    cancellationPeriod = { periodValue = r:pick({ 1, 4 }), periodUnit = "WEEK" },
    cancelled = cancelled,
    price = cents / 100,
    priceDetails = {
      basePrice = money(tenant, cents),
      currentPrice = money(tenant, cents - discount),
      paymentFrequency = {
        id = 500 + months, type = "RECURRING", term = { value = 1, unit = "MONTH" },
        price = money(tenant, cents - discount),
      },
    },
    lastPossibleCancellationDate = gen.date(start + months * 30 - 28),
    term = { periodValue = months, periodUnit = "MONTH" },
    extensionTerm = { periodValue = 1, periodUnit = "MONTH" },
    flatFeeContracts = array({}),
    moduleContracts = array({}),
  }
  if cancelled then
    c.cancellationDate = gen.date(start + months * 30)
    c.cancellationReceiptDate = gen.date(start + months * 15)
    c.cancellationReason = "Moved away"
  end
  if r:chance(40) then
    c.flatFeeContracts = { sub_contract(tenant, r, id * 10 + 1, start, c.contractStatus) }
  end
  if r:chance(50) then
    c.signedDocumentUrl = ("https://files.example.com/%s/contracts/%d.pdf?expires=1767225600")
      :format(tenant.name, id)
  end
  if r:chance(25) then c.thirdPartyId = "crm-c-" .. r:hex(8) end
  return c
end

---The contracts of customer i (newest first): 1–3 for members, 0–3 inactive ones for former
---members, none for prospects.
function _M.contracts(tenant, i)
  local status = _M.status(i)
  if status == "PROSPECT" then return {} end
  local id = id_of(i)
  local r = gen.rng(tenant.seed, id, 2)
  local words = names[tenant.language] or names.en
  local list = {}
  for k = 1, r:int(status == "MEMBER" and 1 or 0, 3) do
    list[k] = contract(tenant, r, words, id, k, k == 1 and status == "MEMBER")
  end
  return list
end

local ASSIGNMENTS = {
  { 101, { "true", "false" } }, { 102, { "Referred by a friend", "Flyer", "Website" } },
  { 103, { "42", "7", "180" } },
}

-- The first draws of customer i's stream: what a search compares, cheap to make for every
-- customer. customer() goes on drawing from the same generator.
local function basics(tenant, i)
  local r = gen.rng(tenant.seed, id_of(i), 1)
  local words = names[tenant.language] or names.en
  local g = r:int(1, 20)
  local gender = g <= 9 and "FEMALE" or g <= 18 and "MALE" or "UNISEX"
  local first = r:pick(gender == "MALE" and words.male or words.female)
  local last = r:pick(words.last)
  local place = r:pick(words.cities)
  local birth = gen.date(r:day({ 1950, 1, 1 }, { 2006, 12, 31 }))
  return r, words, gender, first, last, place, birth
end

local function email_of(tenant, i)
  return ("member%d@%s.example.com"):format(100000 + i, tenant.name)
end

---Customer i as GET /customers/{id} shows it. Optional fields are sometimes absent and
---thirdPartyId is sometimes JSON null, as real data has both.
function _M.customer(tenant, i, card_format)
  local id = id_of(i)
  local r, words, gender, first, last, place, birth = basics(tenant, i)
  local status = _M.status(i)
  local number = ("%d"):format(100000 + i)
  local c = {
    id = id, customerNumber = number, firstName = first, lastName = last,
    dateOfBirth = birth,
    email = email_of(tenant, i),
    gender = gender,
    street = r:pick(words.streets), houseNumber = ("%d"):format(r:int(1, 220)),
    zipCode = place[1], city = place[2], country = tenant.country,
    status = status,
    imageUrl = ("https://images.example.com/%s/customers/%d.jpg?expires=1767225600")
      :format(tenant.name, id),
    accessRefusal = r:chance(4),
    -- the last 12 hex digits are the id: a QR code's uuid leads back to its customer
    uuid = r:uuid():sub(1, 24) .. ("%012x"):format(id),
    studioId = tenant.studio_id,
    preferredLanguage = { languageCode = r:chance(90) and tenant.language or "fr" },
    createdDateTime = ("%sT%02d:%02d:%02d.%03d%s"):format(gen.date(r:day({ 2015, 1, 1 },
      { 2024, 12, 31 })), r:int(6, 21), r:int(0, 59), r:int(0, 59), r:int(0, 999), tenant.zone),
  }
  if r:chance(60) then c.preferredLanguage.countryCode = tenant.country end
  if r:chance(10) then c.secondFirstName = r:pick(words.female) end
  if r:chance(5) then c.secondLastName = r:pick(words.last) end
  if r:chance(70) then c.phonePrivate = words.phone:format(r:int(0, 9999)) end
  if r:chance(80) then c.phonePrivateMobile = words.phone:format(r:int(0, 9999)) end
  if r:chance(15) then c.phoneBusiness = words.phone:format(r:int(0, 9999)) end
  if r:chance(10) then c.phoneBusinessMobile = words.phone:format(r:int(0, 9999)) end
  if r:chance(50) then c.referralCode = "REF-" .. r:hex(6):upper() end
  local third = i % 4
  if third == 0 then c.thirdPartyId = "crm-" .. r:hex(10)
  elseif third == 1 then c.thirdPartyId = json.null end

  -- cards and other access media: most members have one or two cards (some none yet), some a
  -- PIN as well; prospects have none
  local cards, media = {}, {}
  if status ~= "PROSPECT" then
    local roll = r:int(1, 100)
    for k = 1, roll <= 8 and 0 or roll <= 23 and 2 or 1 do
      r:next(); r:next() -- the draws of the former random serials: the rest stays as it was
      local value = card(CARD_BASE + (id * 10 + k) * CARD_STEP, card_format)
      cards[k] = value
      media[k] = { id = id * 10 + k, type = "CARD_NUMBER", value = value }
    end
    if r:chance(20) then
      media[#media + 1] = { id = id * 10 + 5, type = "PIN", value = r:digits(4) }
    end
    if r:chance(70) then
      c.bankAccount = {
        accountHolder = first .. " " .. last, bankName = "Sandbox Bank",
        bic = "SBXB" .. tenant.country .. "XX", iban = tenant.country .. r:digits(20),
      }
    end
  end
  c.cardNumbers, c.accessMediums = array(cards), array(media)

  local idle, restrictions, assignments = {}, {}, {}
  if status == "MEMBER" and r:chance(12) then
    local first_contract = _M.contracts(tenant, i)[1]
    local start = r:day({ 2024, 1, 1 }, { 2025, 12, 31 })
    idle[1] = {
      id = id * 10 + 8, startDate = gen.date(start), endDate = gen.date(start + r:int(14, 90)),
      reason = r:pick(words.reasons), unlimited = false,
      contract = { id = first_contract.id, rateName = first_contract.rateName },
    }
  end
  if r:chance(5) then
    local start = r:day({ 2024, 1, 1 }, { 2025, 12, 31 })
    restrictions[1] = { reason = r:pick(words.restrictions), startDate = gen.date(start) }
    if r:chance(50) then restrictions[1].endDate = gen.date(start + r:int(7, 60)) end
  end
  if r:chance(30) then
    -- one or two different fields, starting at a random one
    local j = r:int(1, #ASSIGNMENTS)
    for k = 1, r:int(1, 2) do
      local field = ASSIGNMENTS[(j + k - 2) % #ASSIGNMENTS + 1]
      assignments[k] = { additionalInformationFieldId = field[1], value = r:pick(field[2]) }
    end
  end
  c.idlePeriods = array(idle)
  c.accessRestrictions = array(restrictions)
  c.additionalInformationFieldAssignments = array(assignments)
  return c
end

---Up to `size` customers with the given status and an id greater than `offset` (nil = from
---the start), in id order, and whether more such customers follow.
function _M.slice(tenant, offset, size, status, card_format)
  local n = tenant.customers
  local i = offset and _M.first_after(tenant, offset) or 1
  local result = {}
  while i <= n and #result < size do
    if _M.status(i) == status then result[#result + 1] = _M.customer(tenant, i, card_format) end
    i = i + 1
  end
  -- the status pattern repeats every 20 customers, so this look-ahead is short
  while i <= n and _M.status(i) ~= status do i = i + 1 end
  return result, i <= n
end

-- Identifiers other than those on the customer: debtor ids and barcodes carry the customer
-- number ("D100001", "B100001").
local function by_number(tenant, number)
  local n = number and tonumber(number:match("^%d+$") or "")
  local i = n and n - 100000
  if i and i >= 1 and i <= tenant.customers then return i end
  return nil
end

-- How each identifier of GET /customers/by leads to a customer index (or nil).
local LOOKUPS = {
  customerNumber = function(tenant, v) return by_number(tenant, v) end,
  debtorId = function(tenant, v) return by_number(tenant, v:match("^D(%d+)$")) end,
  barcode = function(tenant, v) return by_number(tenant, v:match("^B(%d+)$")) end,
  qrCodeUuid = function(tenant, v)
    local tail = v:lower():match("^%x+%-%x+%-%x+%-%x+%-(%x+)$")
    local i = tail and _M.index_of(tenant, tonumber(tail, 16))
    if i and _M.customer(tenant, i, "DECIMAL").uuid == v:lower() then return i end
    return nil
  end,
  cardNumber = function(tenant, v, format)
    local serial = card_serial(v, format)
    local code = serial and (serial - CARD_BASE) / CARD_STEP
    if not code or code ~= floor(code) or code < 0 then return nil end
    local i = _M.index_of(tenant, floor(code / 10))
    if not i then return nil end
    for _, number in ipairs(_M.customer(tenant, i, format).cardNumbers) do
      if number == v:upper() then return i end -- hex digits in either case
    end
    return nil
  end,
}

-- The identifiers in the order they are tried when a request gives several.
_M.IDENTIFIERS = { "cardNumber", "debtorId", "qrCodeUuid", "barcode", "customerNumber" }

---The index of the customer an identifier names (cardNumber in `format`), or nil.
function _M.lookup(tenant, name, value, format)
  return LOOKUPS[name](tenant, value, format)
end

local function starts(s, prefix)
  return prefix == nil or s:lower():sub(1, #prefix) == prefix:lower()
end

---The indexes of the customers that match every given criterion of a search ({firstName,
---lastName (prefixes, any case), email, dateOfBirth}), in id order, at most `limit`.
function _M.search(tenant, criteria, limit)
  local from, to = 1, tenant.customers
  local email = criteria.email and criteria.email:lower()
  if email then
    -- the number in the address leads to the only candidate
    local i = by_number(tenant, email:match("^member(%d+)@"))
    if not i or email_of(tenant, i) ~= email then return {} end
    from, to = i, i
  end
  local found = {}
  for i = from, to do
    local _, _, _, first, last, _, birth = basics(tenant, i)
    if starts(first, criteria.firstName) and starts(last, criteria.lastName)
      and (criteria.dateOfBirth == nil or criteria.dateOfBirth == birth) then
      found[#found + 1] = i
      if #found == limit then break end
    end
  end
  return found
end

return _M
