-- SHA-256, incrementally, for the upload diagnostics. Debian ships no lua-resty-string, but nginx
-- is linked with OpenSSL's libcrypto, so its EVP digest functions are in the process already:
-- LuaJIT's FFI calls them directly (as resty.sha256 does).
--
--   local h = sha256.new(); h:update(a); h:update(b); local hex = h:final()
--   sha256.hex(s)  -- one string

local ffi = require "ffi"

local C = ffi.C
local ffi_gc, ffi_new = ffi.gc, ffi.new

ffi.cdef [[
typedef struct evp_md_ctx_st EVP_MD_CTX;
typedef struct evp_md_st EVP_MD;
typedef struct engine_st ENGINE;
EVP_MD_CTX *EVP_MD_CTX_new(void);
void EVP_MD_CTX_free(EVP_MD_CTX *ctx);
const EVP_MD *EVP_sha256(void);
int EVP_DigestInit_ex(EVP_MD_CTX *ctx, const EVP_MD *type, ENGINE *impl);
int EVP_DigestUpdate(EVP_MD_CTX *ctx, const void *d, size_t cnt);
int EVP_DigestFinal_ex(EVP_MD_CTX *ctx, unsigned char *md, unsigned int *s);
]]

local _M = {}

local Hash = {}
Hash.__index = Hash

local digest = ffi_new("unsigned char[32]")
local HEX = {}
for i = 0, 255 do HEX[i] = ("%02x"):format(i) end

---A new hash; raises when libcrypto refuses (it never does for SHA-256).
function _M.new()
  local ctx = C.EVP_MD_CTX_new()
  assert(ctx ~= nil, "sha256: EVP_MD_CTX_new failed")
  ctx = ffi_gc(ctx, C.EVP_MD_CTX_free)
  assert(C.EVP_DigestInit_ex(ctx, C.EVP_sha256(), nil) == 1, "sha256: init failed")
  return setmetatable({ ctx = ctx }, Hash)
end

function Hash:update(s)
  if #s > 0 then
    assert(C.EVP_DigestUpdate(self.ctx, s, #s) == 1, "sha256: update failed")
  end
end

---The digest in lower-case hex; the hash cannot be updated afterwards.
function Hash:final()
  assert(C.EVP_DigestFinal_ex(self.ctx, digest, nil) == 1, "sha256: final failed")
  local out = {}
  for i = 0, 31 do out[i + 1] = HEX[digest[i]] end
  return table.concat(out)
end

function _M.hex(s)
  local h = _M.new()
  h:update(s)
  return h:final()
end

return _M
