-- sync_customers: streams every customer of a studio to NDJSON on stdout, one JSON object a line,
-- with a progress line on stderr, and keeps a checkpoint so a crash or Ctrl-C loses nothing.
--
--   STUDIOAPI_BASE_URL=https://acme.open-api.example.com/v1 STUDIOAPI_KEY=… \
--     lua5.4 examples/sync_customers.lua [CHECKPOINT_FILE] >> customers.ndjson
--
-- Run it again after an interruption with the same checkpoint file and the output continues
-- where it stopped: no customer is missing. The checkpoint is the pager's resume point (the
-- chunk's offset and how many of its records were written), saved right after each record is
-- flushed, so only an interruption between those two steps can write that one record twice
-- (never lose it): a consumer that must be exact dedupes on `id`. Delete the checkpoint file to
-- start over.
local studioapi = require "studioapi"

local checkpoint_file = arg[1] or "sync_customers.checkpoint"
local SLICE = tonumber(os.getenv "SYNC_SLICE_SIZE") or 500
local PROGRESS_EVERY = 1 -- seconds between progress lines

local function read_checkpoint()
  local f = io.open(checkpoint_file, "r")
  if not f then return nil end
  local offset, skip, written = f:read("*l", "*n", "*n")
  f:close()
  if offset == "-" then offset = nil end
  return { offset = offset, skip = skip or 0, written = written or 0 }
end

-- Written to a temporary file, then renamed: a crash mid-write never leaves half a checkpoint.
local function save_checkpoint(pager, written)
  local tmp = checkpoint_file .. ".tmp"
  local f = assert(io.open(tmp, "w"))
  f:write(pager.offset or "-", "\n", pager.skip, "\n", written, "\n")
  f:close()
  assert(os.rename(tmp, checkpoint_file))
end

local client, err = studioapi.new {
  base_url = os.getenv "STUDIOAPI_BASE_URL",
  api_key = os.getenv "STUDIOAPI_KEY",
  ca_file = os.getenv "STUDIOAPI_CA_FILE",
}
if not client then
  io.stderr:write(tostring(err), "\n")
  os.exit(2)
end

local resume = read_checkpoint()
local written = resume and resume.written or 0
if resume then
  io.stderr:write(("resuming after %d customers (offset %s, skip %d)\n")
                  :format(written, tostring(resume.offset), resume.skip))
end
local pager = client.customers:list({ sliceSize = SLICE },
                                    { offset = resume and resume.offset,
                                      skip = resume and resume.skip })

local encode = studioapi.json.encode
local out = io.stdout
local started = os.clock()
local wall = os.time()
local last_progress = wall

local function progress(final)
  local elapsed = os.time() - wall
  local rate = elapsed > 0 and (pager.delivered / elapsed) or pager.delivered
  io.stderr:write(("%s%d customers written, %d chunks this run, %.0f records/s%s")
                  :format(final and "" or "\r", written, pager.chunks, rate,
                          final and "\n" or ""))
end

local ok, failure = pcall(function()
  for customer in pager:items() do
    out:write(encode(customer), "\n")
    out:flush()
    written = written + 1
    save_checkpoint(pager, written)
    if os.time() - last_progress >= PROGRESS_EVERY then
      last_progress = os.time()
      progress(false)
    end
  end
end)

progress(true)
client:close()
if not ok then
  io.stderr:write("stopped: ", tostring(failure), "\n",
                  "run again with the same checkpoint file to continue\n")
  os.exit(1)
end
os.remove(checkpoint_file)
io.stderr:write(("done in %.1f s of CPU\n"):format(os.clock() - started))
