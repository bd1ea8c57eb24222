-- Error texts per errorCode and language. The codes look like the API's translation keys:
-- error.<area>.<reason>. Texts exist in English, German and French; every other resolved
-- language answers with the English text (its tag still goes into content-language).
-- {name} placeholders are filled from the error's arguments.

local _M = {}

local TEXTS = {
  ["error.authentication.invalid_api_key"] = {
    en = "The API key is missing or invalid.",
    de = "Der API-Schlüssel fehlt oder ist ungültig.",
    fr = "La clé API est absente ou invalide.",
  },
  ["error.authorization.forbidden"] = {
    en = "The API key has no permission for this request.",
    de = "Der API-Schlüssel hat keine Berechtigung für diese Anfrage.",
    fr = "La clé API n'a pas l'autorisation pour cette requête.",
  },
  ["error.authorization.url_expired"] = {
    en = "The link has expired.",
    de = "Der Link ist abgelaufen.",
    fr = "Le lien a expiré.",
  },
  ["error.authorization.url_invalid"] = {
    en = "The link is not valid.",
    de = "Der Link ist ungültig.",
    fr = "Le lien n'est pas valide.",
  },
  ["error.request.not_found"] = {
    en = "There is no resource {method} {path}.",
    de = "Es gibt keine Ressource {method} {path}.",
    fr = "Il n'existe aucune ressource {method} {path}.",
  },
  ["error.customer.not_found"] = {
    en = "Customer {id} was not found.",
    de = "Kunde {id} wurde nicht gefunden.",
    fr = "Le client {id} est introuvable.",
  },
  ["error.employee.not_found"] = {
    en = "Employee {id} was not found.",
    de = "Mitarbeiter {id} wurde nicht gefunden.",
    fr = "L'employé {id} est introuvable.",
  },
  ["error.entity.not_found"] = {
    en = "{entity} {id} was not found.",
    de = "{entity} {id} wurde nicht gefunden.",
    fr = "{entity} {id} est introuvable.",
  },
  ["error.validation.required"] = {
    en = "{field} is required.",
    de = "{field} ist erforderlich.",
    fr = "{field} est obligatoire.",
  },
  ["error.validation.one_of_required"] = {
    en = "One of {fields} is required.",
    de = "Eines von {fields} ist erforderlich.",
    fr = "L'un de {fields} est obligatoire.",
  },
  ["error.validation.multipart"] = {
    en = "The request must be multipart/form-data with a boundary and a part {field}.",
    de = "Die Anfrage muss multipart/form-data mit boundary und einem Teil {field} sein.",
    fr = "La requête doit être multipart/form-data avec un boundary et une partie {field}.",
  },
  ["error.validation.media_type"] = {
    en = "{field} must be {types}.",
    de = "{field} muss {types} sein.",
    fr = "{field} doit être {types}.",
  },
  ["error.validation.empty"] = {
    en = "{field} must not be empty.",
    de = "{field} darf nicht leer sein.",
    fr = "{field} ne doit pas être vide.",
  },
  ["error.validation.out_of_range"] = {
    en = "{field} must be between {min} and {max}.",
    de = "{field} muss zwischen {min} und {max} liegen.",
    fr = "{field} doit être compris entre {min} et {max}.",
  },
  ["error.validation.invalid_value"] = {
    en = "{field} has an invalid value.",
    de = "{field} hat einen ungültigen Wert.",
    fr = "{field} a une valeur invalide.",
  },
  ["error.request.conflict"] = {
    en = "The entity was changed by another request.",
    de = "Die Entität wurde durch eine andere Anfrage geändert.",
    fr = "L'entité a été modifiée par une autre requête.",
  },
  ["error.request.rate_limited"] = {
    en = "Too many requests: the rate limit is exceeded.",
    de = "Zu viele Anfragen: das Limit ist überschritten.",
    fr = "Trop de requêtes : la limite est dépassée.",
  },
  ["error.server.internal"] = {
    en = "An unexpected error occurred.",
    de = "Ein unerwarteter Fehler ist aufgetreten.",
    fr = "Une erreur inattendue s'est produite.",
  },
  ["error.server.bad_gateway"] = {
    en = "An upstream service gave an invalid answer.",
    de = "Ein vorgelagerter Dienst hat ungültig geantwortet.",
    fr = "Un service en amont a donné une réponse invalide.",
  },
  ["error.server.unavailable"] = {
    en = "The service is busy; retry later.",
    de = "Der Dienst ist ausgelastet; bitte später erneut versuchen.",
    fr = "Le service est surchargé ; réessayez plus tard.",
  },
  ["error.server.gateway_timeout"] = {
    en = "An upstream service did not answer in time.",
    de = "Ein vorgelagerter Dienst hat nicht rechtzeitig geantwortet.",
    fr = "Un service en amont n'a pas répondu à temps.",
  },
}

---The text of `code` for the resolved tag `tag` ("de-CH" uses "de"), arguments filled in.
function _M.text(code, tag, args)
  local texts = TEXTS[code]
  if not texts then error("no error text for " .. tostring(code)) end
  local text = texts[tag] or texts[tag:match("^%a+")] or texts.en
  return (text:gsub("{(%w+)}", function(name)
    local v = args and args[name]
    if v == nil then return "{" .. name .. "}" end
    return tostring(v)
  end))
end

return _M
