-- What writes through the API leave behind, per tenant: created customers, uploaded documents and
-- images, idle periods, bookings. Records live in the shared dict as JSON (all workers see them),
-- uploaded bytes in files under $prefix/store/ (uploads of 5–50 MiB do not belong in a dict).
-- A reset forgets them all and removes the files; the id sequences go on, so an id is never
-- given twice while the sandbox runs.
--   seq:<tenant>:<kind>          id sequences (kept by a reset)
--   cust:<tenant>:<id>           a created customer (Customer)
--   doc:<tenant>:<docId>         an uploaded document {customerId, id, fileName, description, file}
--   docs:<tenant>:<customerId>   how many documents were uploaded for the customer
--   docs:<tenant>:<customerId>:<k>  the id of upload k
--   img:<tenant>:<customerId>    the customer's uploaded image {version, file}
--   file:<path>                  a stored file {disk, content_type, size, sha256, filename} by
--                                its signed path (/files/<tenant>/<customerId>/<name>)
--   cbook:<tenant>:<id>, abook:<tenant>:<id>  class and appointment bookings made

local cjson = require "cjson.safe"

local ngx = ngx
local dict = ngx.shared.sandbox

local _M = {}

-- Ids of created records start far beyond every generated one (customers ≤ 7,001,002 for a
-- million, their documents ≤ 700,100,212, bookings ≤ 70,010,028).
local BASES = {
  customer = 900000000, document = 9000000000, booking = 8000000000, idle = 7000000000,
}

local store_dir
local spool_n = 0

---Where the files go ($prefix/store); in the master, before the workers fork.
function _M.init(dir)
  store_dir = dir
end

---The next id of a kind ("customer", "document", "booking", "idle") for a tenant.
function _M.next_id(tenant, kind)
  return BASES[kind] + dict:incr(("seq:%s:%s"):format(tenant.name, kind), 1, 0)
end

local function get(key)
  local raw = dict:get(key)
  return raw and cjson.decode(raw) or nil
end

local function set(key, value)
  local ok, err = dict:safe_set(key, cjson.encode(value))
  if not ok then error("sandbox store: " .. key .. ": " .. tostring(err)) end
end

---A new spool file for an upload, in the store (so that keeping it is a rename).
function _M.spool_path()
  spool_n = spool_n + 1
  return ("%s/tmp-%d-%d-%d"):format(store_dir, ngx.worker.pid(), spool_n, math.random(1, 1e9))
end

---Keeps an uploaded part under its signed path: moves its spool file into the store.
function _M.keep_file(path, part)
  local disk = store_dir .. "/" .. path:sub(#"/files/" + 1):gsub("/", "-")
  assert(os.rename(part.path, disk))
  part.path = nil
  set("file:" .. path, {
    disk = disk, content_type = part.content_type or "application/octet-stream",
    size = part.size, sha256 = part.sha256, filename = part.filename,
  })
end

---The stored file of a signed path, or nil.
function _M.file(path)
  return get("file:" .. path)
end

---A created customer record, or nil.
function _M.customer(tenant, id)
  return get(("cust:%s:%d"):format(tenant.name, id))
end

function _M.put_customer(tenant, customer)
  set(("cust:%s:%d"):format(tenant.name, customer.id), customer)
end

---Adds an uploaded document {id, fileName, description, file} of a customer.
function _M.add_document(tenant, customer_id, doc)
  doc.customerId = customer_id
  set(("doc:%s:%d"):format(tenant.name, doc.id), doc)
  local k = dict:incr(("docs:%s:%d"):format(tenant.name, customer_id), 1, 0)
  dict:set(("docs:%s:%d:%d"):format(tenant.name, customer_id, k), doc.id)
end

---The documents uploaded for a customer, in upload order.
function _M.documents(tenant, customer_id)
  local list = {}
  local n = dict:get(("docs:%s:%d"):format(tenant.name, customer_id)) or 0
  for k = 1, n do
    local id = dict:get(("docs:%s:%d:%d"):format(tenant.name, customer_id, k))
    local doc = id and _M.document(tenant, id)
    if doc then list[#list + 1] = doc end
  end
  return list
end

---An uploaded document by id, or nil.
function _M.document(tenant, id)
  return get(("doc:%s:%d"):format(tenant.name, id))
end

---The customer's uploaded image {version, file}, or nil.
function _M.image(tenant, customer_id)
  return get(("img:%s:%d"):format(tenant.name, customer_id))
end

---Records a new image of the customer; returns its version (1, 2, …).
function _M.new_image_version(tenant, customer_id)
  return dict:incr(("imgv:%s:%d"):format(tenant.name, customer_id), 1, 0)
end

function _M.put_image(tenant, customer_id, image)
  set(("img:%s:%d"):format(tenant.name, customer_id), image)
end

---A booking made through the API ("class" or "appointment"), or nil.
function _M.booking(tenant, kind, id)
  return get(("%sbook:%s:%d"):format(kind == "class" and "c" or "a", tenant.name, id))
end

function _M.put_booking(tenant, kind, booking)
  set(("%sbook:%s:%d"):format(kind == "class" and "c" or "a", tenant.name, booking.bookingId),
    booking)
end

-- Keys a reset keeps: the sequences (ids are never given twice) and the logs' counters.
local function kept(key)
  return key == "log:n" or key == "wh:n" or key:find("^seq:") ~= nil
end

---Forgets everything but the sequences: records, stored files (removed from disk), settings.
function _M.clear()
  for _, key in ipairs(dict:get_keys(0)) do
    if key:find("^file:") then
      local meta = get(key)
      if meta and meta.disk then os.remove(meta.disk) end
    end
    if not kept(key) then dict:delete(key) end
  end
end

return _M
