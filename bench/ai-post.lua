-- wrk script: one OpenAI chat completion request (a copy of ../shared/peers/mock-llm/post.lua with the
-- model and temperature taken from the environment, so one file serves every target).
--   WRK_TOKEN        bearer token (none when unset)
--   WRK_MODEL        model id: `mock` direct and at LiteLLM, `mock/mock` through our gateway (default mock)
--   WRK_TEMPERATURE  0.7 bypasses our cache (default); 0 is cached
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local token = os.getenv("WRK_TOKEN")
if token and token ~= "" then wrk.headers["Authorization"] = "Bearer " .. token end
local model = os.getenv("WRK_MODEL") or "mock"
local temperature = os.getenv("WRK_TEMPERATURE") or "0.7"
wrk.body = '{"model":"' .. model .. '","temperature":' .. temperature ..
  ',"messages":[{"role":"user","content":"How are my servers?"}]}'
