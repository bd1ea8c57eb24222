-- The studio itself: its information and its employees, derived from the tenant's seed.

local example = require "sandbox.example"
local gen = require "sandbox.gen"
local json = require "sandbox.json"
local names = require "sandbox.names"

local array = json.array

local _M = {}

local PROFILES = {
  en = {
    name = "Acme Fitness Sandbox", description = "A made-up studio for local tests.",
    country = "United States", telephone = "+1 212 555 0100", street = "Main Street",
    house = "100", zip = "10001", city = "New York", lon = -73.9857, lat = 40.7484,
    tags = { "Sauna", "Pool", "24/7" }, holiday = "Christmas",
  },
  de = {
    name = "Zenith Sportstudio Sandbox", description = "Ein erfundenes Studio für lokale Tests.",
    country = "Deutschland", telephone = "+49 30 1234567", street = "Friedrichstraße",
    house = "12a", zip = "10117", city = "Berlin", lon = 13.3889, lat = 52.5170,
    tags = { "Sauna", "Kurse", "Parkplatz" }, holiday = "Heiligabend",
  },
}

local function hours(from, to, time_from, time_to)
  return { dayOfWeekFrom = from, dayOfWeekTo = to, timeFrom = time_from, timeTo = time_to }
end

---The studio's name.
function _M.name(tenant)
  return (PROFILES[tenant.language] or PROFILES.en).name
end

---StudioInformation (times are "HH:MM:SS" strings).
function _M.information(tenant)
  local p = PROFILES[tenant.language] or PROFILES.en
  local week = {
    hours("MONDAY", "FRIDAY", "06:00:00", "22:00:00"),
    hours("SATURDAY", "SUNDAY", "08:00:00", "20:00:00"),
  }
  local tags = {}
  for k, name in ipairs(p.tags) do tags[k] = { name = name } end
  return {
    studioId = tenant.studio_id, name = p.name, description = p.description,
    country = p.country, countryCode = tenant.country, openingDate = "2015-03-01",
    email = ("studio@%s.example.com"):format(tenant.name),
    logoUrl = ("https://images.example.com/%s/logo.png"):format(tenant.name),
    telephone = p.telephone, website = ("https://%s.example.com"):format(tenant.name),
    street = p.street, houseNumber = p.house, zip = p.zip, city = p.city,
    openingHours = week, publicOpeningHours = week,
    closingHours = {
      { reason = p.holiday, dateTimeFrom = "2025-12-24T14:00:00",
        dateTimeTo = "2025-12-26T23:59:59" },
    },
    openingHoursCategories = {
      { categoryId = 1, name = "Sauna", openingHours = {
        { dayOfWeek = "MONDAY", timeFrom = "10:00:00", timeTo = "21:30:00" },
        { dayOfWeek = "SATURDAY", timeFrom = "10:00:00", timeTo = "18:00:00" },
      } },
    },
    accessCodeConfiguration = { enabled = tenant.seed % 2 == 1 },
    location = { longitude = p.lon, latitude = p.lat },
    studioTags = tags,
  }
end

local ROLES = { "STUDIO_OWNER", "STUDIO_MANAGER", "TRAINER", "TRAINER", "TRAINER",
  "SERVICE_EMPLOYEE", "SERVICE_EMPLOYEE", "ADMINISTRATION_OR_FINANCE", "MARKETING" }
local COMPETENCES = { "Yoga", "Pilates", "Spinning", "Strength", "Rehab", "Boxing" }

-- The first character of a UTF-8 name (a byte cut would leave invalid UTF-8).
local function initial(name)
  return name:match("^[\1-\127\194-\244][\128-\191]*")
end

-- Employee ids are spaced out too; employee k (1-based) has id 500 + 3k.
local function employee_id(k)
  return 500 + 3 * k
end

---Employee k of the tenant (1 ≤ k ≤ tenant.employees).
function _M.employee(tenant, k)
  local id = employee_id(k)
  local r = gen.rng(tenant.seed, id, 3)
  local words = names[tenant.language] or names.en
  local gender = r:chance(50) and "FEMALE" or "MALE"
  local first = r:pick(gender == "MALE" and words.male or words.female)
  local last = r:pick(words.last)
  local e = {
    id = id, firstName = first, lastName = last, gender = gender,
    employeeInitials = initial(first) .. initial(last),
    employeeNumber = ("E%04d"):format(k),
    businessRole = k == 1 and "STUDIO_OWNER" or r:pick(ROLES),
    email = ("staff%d@%s.example.com"):format(k, tenant.name),
    employeeCompetences = array({}),
  }
  if r:chance(70) then e.publicName = first .. " " .. initial(last) .. "." end
  if r:chance(60) then e.phone1 = words.phone:format(r:int(0, 9999)) end
  if r:chance(50) then
    e.employeeImageUrl = ("https://images.example.com/%s/staff/%d.jpg"):format(tenant.name, id)
  end
  if r:chance(40) then e.dateOfBirth = gen.date(r:day({ 1965, 1, 1 }, { 2003, 12, 31 })) end
  if e.businessRole == "TRAINER" then
    local j = r:int(1, #COMPETENCES)
    e.employeeCompetences = { COMPETENCES[j], COMPETENCES[j % #COMPETENCES + 1] }
  end
  return e
end

---The employee index for an id, or nil.
function _M.employee_index(tenant, id)
  local k = (id - 500) / 3
  if k >= 1 and k <= tenant.employees and k == math.floor(k) then return k end
  return nil
end

---Employee k as an Instructor of a class or appointment.
function _M.instructor(tenant, k)
  local e = _M.employee(tenant, k)
  return { id = e.id, firstName = e.firstName, lastName = e.lastName, publicName = e.publicName }
end

---StudioUtilization: who is in now, of how many the studio holds (fixed per tenant).
function _M.utilization(tenant)
  local capacity = 90 + 60 * (tenant.seed % 2)
  return { count = (tenant.seed * 37) % capacity, capacity = capacity }
end

local DEVICES = {
  { "Entrance turnstile", "GENERIC_CARD_READER" }, { "Drinks vending", "GENERIC_VENDING_READER" },
  { "Staff time clock", "GENERIC_TIME_READER" }, { "Sauna door", "GENERIC_CARD_READER" },
  { "Locker terminal", "GENERIC_CARD_READER" },
}

---The studio's devices (Device): five, the last one not activated yet.
function _M.devices(tenant)
  local list = {}
  for k, d in ipairs(DEVICES) do
    list[k] = { id = 60 + 9 * k + tenant.seed, name = d[1], model = d[2], active = k < #DEVICES }
  end
  return list
end

local OFFERS = {
  { "Basic", "The whole studio, off-peak included." },
  { "Premium", "Studio, courses, sauna and drinks." },
  { "Flex", "Cancel monthly, no minimum term." },
  { "Student", "For students with a valid student card." },
  { "Off-Peak", "Weekdays until 16:00 and weekends." },
  { "Family", "Two adults and their children." },
}
local OFFER_IDS = gen.ids(900, 11, 4)
_M.OFFER_COUNT = #OFFERS

---Membership offer k: MembershipOffer, or MembershipOfferExtended when `extended`; names and
---ids are the studio's, the nested terms and modules are schema-shaped examples.
function _M.offer(tenant, k, extended)
  local id = OFFER_IDS:id(k)
  local o = example.object(tenant, extended and "MembershipOfferExtended" or "MembershipOffer", id)
  o.id, o.name, o.description = id, OFFERS[k][1], OFFERS[k][2]
  o.imageUrl = ("https://images.example.com/%s/offers/%d.jpg?expires=1767225600")
    :format(tenant.name, id)
  return o
end

---The index of the membership offer with this id, or nil.
function _M.offer_index(_, id)
  return OFFER_IDS:index(id, #OFFERS)
end

return _M
