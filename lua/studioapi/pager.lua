--- Iterates over the API's chunked lists (`{result, offset, hasNext}`), in either chunk mode.
-- In both modes the client passes back the `offset` the previous chunk returned (cursor mode: the
-- id where the next chunk starts; slice mode: previous offset + sliceSize), so the offset is an
-- opaque string here. The loop ends on `hasNext == false`, never on an empty chunk alone.
--
-- `pager.offset` always names the first chunk not yet fully delivered and `pager.skip` how many of
-- its items were: `client:pager(path, query, {offset = p.offset, skip = p.skip})` resumes with no
-- gap and no repeat, after a crash or after a failed chunk (which raises the error object).
local errors = require "studioapi.errors"

local type, tostring, error, setmetatable = type, tostring, error, setmetatable

local _M = {}

local BATCH = 8 -- items a cursor decodes per call: few live tables, little call overhead

local Pager = { __name = "studioapi.Pager" }
Pager.__index = Pager
_M.Pager = Pager

--- Creates a pager. `fetch(query, lazy)` returns one decoded chunk or `nil, err`; with `lazy` its
-- `result` may be a cursor (studioapi.core: `size()`, `fill(t, n)`, `skip(n)`, `close()`) that
-- decodes the items a few at a time as they are handed out, rather than a table.
-- `wrap(item, chunk_no)` (optional) turns an item into an entity as it is handed out.
-- opts: `offset`, `skip` (resume point), `max_items` (stop after that many), `mode` (informative),
-- `start(query, lazy, reuse)` (optional): sends the request for a chunk now and returns an object
-- whose `finish()` gives what fetch would and whose `cancel()` drops it, or nil; `reuse` is the
-- `pending` field of an earlier one that is over (one finalisable object per walk, not one per
-- chunk). With it the pager asks for the next chunk as soon as it knows its offset, and the loop
-- works through this one while the answer comes; a chunk the loop never reaches is cancelled by
-- `close`, or when that object is collected.
function _M.new(fetch, query, opts, wrap)
  opts = opts or {}
  local q = {}
  for k, v in pairs(query or {}) do q[k] = v end
  local offset = opts.offset
  if offset == nil then offset = q.offset end
  q.offset = nil
  if offset ~= nil then offset = tostring(offset) end
  return setmetatable({
    offset = offset,                 -- the chunk to fetch next (nil: the first)
    skip = opts.skip or 0,           -- items of that chunk already delivered
    done = false,
    delivered = 0,                   -- items handed out by this pager
    chunks = 0,                      -- chunks fetched by this pager
    max_items = opts.max_items,
    mode = opts.mode,
    _fetch = fetch, _query = q, _wrap = wrap, _start = opts.start,
    _prefetched = nil,               -- {offset, lazy, started}: the next chunk, on its way
    _reuse = nil,                    -- the pending call of the last one, over
  }, Pager)
end

local function fail(self, err)
  self.error = err
  error(err, 0)
end

-- Fetches the chunk at self.offset; returns it and the next offset, raising on failure. `lazy`:
-- the chunk's result may be a cursor.
function Pager:_next_chunk(lazy)
  local q = self._query
  local chunk, err
  local pre = self._prefetched
  self._prefetched = nil
  if pre then self._reuse = pre.started.pending end
  if pre and pre.offset == self.offset and pre.lazy == lazy then
    chunk, err = pre.started:finish()
  else
    if pre then pre.started:cancel() end
    q.offset = self.offset
    chunk, err = self._fetch(q, lazy)
    q.offset = nil
  end
  if not chunk then fail(self, err) end
  local rtype = type(chunk) == "table" and type(chunk.result)
  if (rtype ~= "table" and not (lazy and rtype == "userdata"))
     or type(chunk.hasNext) ~= "boolean" then
    fail(self, errors.new {
      code = "decode", message = "not a chunk: expected {result, offset, hasNext}",
    })
  end
  self.chunks = self.chunks + 1
  local next_offset = chunk.offset ~= nil and tostring(chunk.offset) or nil
  if chunk.hasNext and (next_offset == nil or next_offset == self.offset) then
    fail(self, errors.new {
      code = "pagination_stalled",
      message = ("the offset did not advance (%s → %s) although hasNext is true")
                :format(tostring(self.offset), tostring(next_offset)),
    })
  end
  if chunk.hasNext and self._start then self:_prefetch(chunk, next_offset, lazy) end
  return chunk, next_offset
end

-- Starts the request for the chunk after `chunk` (at next_offset), unless max_items ends the walk
-- within `chunk`. The resume point does not move: the prefetched chunk counts only once it is
-- used, and only for the offset it was asked for.
function Pager:_prefetch(chunk, next_offset, lazy)
  local result = chunk.result
  local n = type(result) == "table" and #result or result:size()
  if self.max_items and self.delivered + n - self.skip >= self.max_items then return end
  local q = self._query
  q.offset = next_offset
  local started = self._start(q, lazy, self._reuse)
  self._reuse = nil
  q.offset = nil
  if started then self._prefetched = { offset = next_offset, lazy = lazy, started = started } end
end

--- Drops the prefetched chunk, if any (the pager stays usable; a collected one is dropped too).
function Pager:close()
  local pre = self._prefetched
  self._prefetched = nil
  if pre then pre.started:cancel() end
  self._reuse = nil
end
Pager.__close = Pager.close

--- Iterator over chunks: `for chunk in pager:pages() do … chunk.result … end`. A chunk counts as
-- delivered once the loop asks for the next one.
function Pager:pages()
  local pending -- offset of the chunk after the one the loop holds
  return function()
    if pending ~= nil then
      self.offset, self.skip = pending, 0
      pending = nil
    end
    if self.done then return nil end
    local chunk, next_offset = self:_next_chunk()
    if chunk.hasNext then
      pending = next_offset
    else
      self.done = true
    end
    self.delivered = self.delivered + #chunk.result
    return chunk
  end
end

--- Iterator over every record across all chunks: `for customer in pager:items() do … end`.
-- Memory stays bounded by one chunk: its bytes, its items decoded one at a time (a cursor), or
-- its table when the fetch gives one.
function Pager:items()
  local items, cursor, i, n, next_offset, has_next = nil, nil, 0, 0, nil, true
  local batch, bi, bn = {}, 0, 0 -- a cursor's items decoded ahead, batch[bi + 1 .. bn]
  local wrap, max_items = self._wrap, self.max_items
  return function()
    while true do
      if max_items and self.delivered >= max_items then return nil end
      if (items or cursor) and i < n then
        local item
        if cursor then
          if bi == bn then
            local err
            bn, err = cursor:fill(batch, BATCH)
            if not bn or bn == 0 then
              bn = 0
              fail(self, errors.new { code = "decode", message = "chunk item " .. (i + 1) .. ": "
                                      .. tostring(err or "missing") })
            end
            bi = 0
          end
          bi = bi + 1
          item = batch[bi]
        else
          item = items[i + 1]
        end
        i = i + 1
        self.skip = i
        self.delivered = self.delivered + 1
        if i == n then
          -- The chunk's last item is out: the resume point moves to the next chunk.
          if has_next then self.offset, self.skip = next_offset, 0 else self.done = true end
        end
        if wrap then item = wrap(item, self.chunks) end
        return item
      end
      if self.done or ((items or cursor) and not has_next) then self.done = true return nil end
      -- The delivered chunk becomes garbage before the next one is decoded: one chunk live.
      if cursor then cursor:close() end
      items, cursor, bi, bn = nil, nil, 0, 0
      local chunk
      chunk, next_offset = self:_next_chunk(true)
      local result = chunk.result
      has_next = chunk.hasNext
      if type(result) == "table" then
        items, n = result, #result
      else
        cursor, n = result, result:size()
      end
      i = self.skip < n and self.skip or n
      if cursor and i > 0 then
        local ok, err = cursor:skip(i)
        if ok == nil and err then
          fail(self, errors.new { code = "decode", message = "chunk: " .. tostring(err) })
        end
      end
      if n == 0 or i == n then
        -- Nothing (more) to deliver from this chunk.
        if has_next then self.offset, self.skip = next_offset, 0 else self.done = true end
      end
    end
  end
end

return _M
