-- What a customer did and owes: check-ins, account entries (past and upcoming) and documents,
-- derived from (tenant seed, customer id). All in date order, oldest first.
--   check-ins   customer 1 (id 1008) of every tenant: 2,345, one a day up to the sandbox's
--               today; members and former members 0–30, prospects 0–2, every 1–7 days;
--               check-in j has id customerId * 10000 + j
--   account     past entries: 0–30, monthly (prospects none), ids customerId * 100 + j;
--               upcoming: members 12, monthly over the next year, ids customerId * 100 + 50 + j
--   documents   members 1–12, former members 0–5, prospects 0–2; ids customerId * 100 + j

local customers = require "sandbox.customers"
local gen = require "sandbox.gen"
local studio = require "sandbox.studio"

local floor, ceil, max, min = math.floor, math.ceil, math.max, math.min

local _M = {}

_M.BIG_HISTORY = 2345

local function money(tenant, cents)
  return { amount = cents / 100, currency = tenant.currency }
end

---The check-ins of customer i: their number and the days between two of them.
function _M.checkin_plan(tenant, i)
  if i == 1 then return _M.BIG_HISTORY, 1 end
  local r = gen.rng(tenant.seed, customers.id_of(i), 11)
  local n = customers.status(i) == "PROSPECT" and r:int(0, 2) or r:int(0, 30)
  return n, r:int(1, 7)
end

---The check-ins j_from..j_to of the n that fall within [from, to] (day numbers, nil = open).
function _M.checkin_range(n, gap, from, to)
  local lo, hi = 1, n
  if from then lo = max(1, n - floor((gen.TODAY - from) / gap)) end
  if to then hi = min(n, n - ceil((gen.TODAY - to) / gap)) end
  return lo, hi
end

---Check-in j of the n of customer i (CustomerCheckin); the last is on the sandbox's today and
---sometimes still open (no check-out).
function _M.checkin(tenant, i, j, n, gap)
  local id = customers.id_of(i) * 10000 + j
  local r = gen.rng(tenant.seed, id, 12)
  local day = gen.TODAY - (n - j) * gap
  local at = r:int(6 * 60, 21 * 60)
  local c = {
    checkinId = id, checkInDateTime = gen.datetime(day, at, tenant.zone),
    studioId = tenant.studio_id, studioName = studio.name(tenant),
  }
  if j < n or r:chance(70) then
    c.checkOutDateTime = gen.datetime(day, at + r:int(30, 150), tenant.zone)
  end
  return c
end

---CustomerAccountBalance of customer i.
function _M.balance(tenant, i)
  local r = gen.rng(tenant.seed, customers.id_of(i), 13)
  local owes = r:chance(25)
  local level = owes and r:pick({ "REMINDER_1", "REMINDER_2", "REMINDER_3" }) or nil
  return {
    accountBalance = money(tenant, owes and -r:int(1000, 25000) or r:int(0, 5) * 500),
    consumptionCredit = money(tenant, r:int(0, 10) * 250),
    dunningLevel = level,
    inDebtCollection = level == "REMINDER_3" and r:chance(50),
  }
end

---The number of past and of upcoming account entries of customer i.
function _M.entry_counts(tenant, i)
  local status = customers.status(i)
  if status == "PROSPECT" then return 0, 0 end
  local r = gen.rng(tenant.seed, customers.id_of(i), 14)
  return r:int(0, 30), status == "MEMBER" and 12 or 0
end

---Account entry j (BookingEntry): past ones end last month, upcoming ones start next month.
function _M.entry(tenant, i, j, past_count, upcoming)
  local customer_id = customers.id_of(i)
  local id = customer_id * 100 + (upcoming and 50 + j or j)
  local r = gen.rng(tenant.seed, id, 17)
  local months = upcoming and j or j - past_count - 1
  local fee = r:int(20, 80) * 100 - 10
  local open = not upcoming and r:chance(10) and fee or 0
  return {
    id = id, dueDate = gen.date(gen.TODAY - 1 + months * 30),
    description = upcoming and "Membership fee (scheduled)" or "Membership fee",
    amount = money(tenant, -fee), openAmount = money(tenant, open > 0 and -open or 0),
    installmentPlan = r:chance(5),
  }
end

local FILES = {
  { "contract-%d.pdf", "Signed contract" }, { "id-card-%d.jpg", "Identity card" },
  { "medical-certificate-%d.pdf", "Medical certificate" },
  { "sepa-mandate-%d.pdf", "Direct debit mandate" },
}

---The number of documents of customer i.
function _M.document_count(tenant, i)
  local r = gen.rng(tenant.seed, customers.id_of(i), 18)
  local status = customers.status(i)
  if status == "MEMBER" then return r:int(1, 12) end
  return r:int(0, status == "PROSPECT" and 2 or 5)
end

---Document j of customer i (CustomerDocument), with a signed URL.
function _M.document(tenant, i, j)
  local id = customers.id_of(i) * 100 + j
  local file = FILES[(id + tenant.seed) % #FILES + 1]
  return {
    id = id, fileName = file[1]:format(id), description = file[2],
    url = ("https://files.example.com/%s/documents/%d?expires=1767225600"):format(tenant.name, id),
  }
end

---The document number j of a document id of customer i, or nil.
function _M.document_index(tenant, i, id)
  local j = id - customers.id_of(i) * 100
  if j >= 1 and j <= _M.document_count(tenant, i) then return j end
  return nil
end

return _M
