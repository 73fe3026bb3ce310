-- Argo CD health check for serving.kserve.io/LLMInferenceService (KServe 0.16+, v1alpha1 and v1alpha2).
--
-- Installed through argocd-cm as
-- `resource.customizations.health.serving.kserve.io_LLMInferenceService`;
-- deploy/argocd/argocd-cm-health-llminferenceservice.yaml carries exactly this text (tests/deploy
-- keeps the two identical). Argo CD sets `obj` (the live object) as a global and reads the returned
-- {status, message}. Argo CD 3.5.1 ships no check for this kind.
--
-- KServe's controller writes Knative-style conditions: `Ready` summarises `WorkloadsReady` (the
-- vLLM workloads: MainWorkloadReady, WorkerWorkloadReady, PrefillWorkloadReady, ...) and
-- `RouterReady` (GatewaysReady, HTTPRoutesReady, InferencePoolReady, SchedulerWorkloadReady, ...),
-- each summary repeating the reason and message of the condition that made it False. Conditions
-- of severity Info or Warning do not gate readiness and are left out.
--
-- Verdicts, in this order:
--   1. no status yet                                       -> Progressing
--   2. condition Stopped=True                              -> Suspended
--   3. a condition False whose reason names a failure (the same reasons and words as the
--      InferenceService check)                             -> Degraded, the most specific failing
--                                                             condition first, with reason and message
--   4. status.observedGeneration < metadata.generation     -> Progressing (status is older than the spec)
--   5. Ready and every other condition True                -> Healthy
--   6. anything else                                       -> Progressing, listing what is not True,
--                                                             the most specific condition first
--
-- Only the base and table libraries are needed; with
-- `resource.customizations.useOpenLibs.serving.kserve.io_LLMInferenceService: "true"` the string
-- library also recognises failure reasons by the words below.

-- Reasons KServe and the Deployment controller use for failures (exact match, no library needed).
local FAILURE_REASONS = {
  ModelLoadFailed = true, RuntimeUnhealthy = true, RuntimeDisabled = true, NoSupportingRuntime = true,
  RuntimeNotRecognized = true, InvalidPredictorSpec = true, InvalidWorkerSpecNotSet = true,
  InvalidGPUAllocation = true, ProgressDeadlineExceeded = true, FailedCreate = true,
  CrashLoopBackOff = true, ImagePullBackOff = true, ErrImagePull = true,
}
-- Words that mark any other reason as a failure (needs the string library).
local FAILURE_WORDS = { "Fail", "Error", "Invalid", "CrashLoop", "BackOff", "DeadlineExceeded" }
-- The summaries: a failing sub-condition is named before them.
local SUMMARIES = { Ready = true, WorkloadsReady = true, RouterReady = true }

local function is_failure_reason(reason)
  if type(reason) ~= "string" or reason == "" then
    return false
  end
  if FAILURE_REASONS[reason] then
    return true
  end
  if string == nil or string.find == nil then
    return false
  end
  for _, word in ipairs(FAILURE_WORDS) do
    if string.find(reason, word, 1, true) ~= nil then
      return true
    end
  end
  return false
end

local function text(value)
  if value == nil then
    return ""
  end
  return tostring(value)
end

-- "reason: message", leaving out whichever is empty.
local function explain(reason, message)
  reason, message = text(reason), text(message)
  if reason ~= "" and message ~= "" then
    return reason .. ": " .. message
  end
  return reason .. message
end

local function health(status, message)
  return { status = status, message = message }
end

local function gates_readiness(condition)
  return condition.severity == nil or condition.severity == "" or condition.severity == "Error"
end

-- The conditions that gate readiness, sub-conditions first, then the summaries, each in the
-- order the controller wrote them.
local function ordered(conditions)
  local result = {}
  for _, summaries in ipairs({ false, true }) do
    for _, condition in ipairs(conditions) do
      local is_summary = SUMMARIES[condition.type] == true
      if is_summary == summaries and condition.type ~= "Stopped" and gates_readiness(condition) then
        table.insert(result, condition)
      end
    end
  end
  return result
end

local function main()
  local status = obj.status
  if status == nil then
    return health("Progressing", "Waiting for the LLMInferenceService controller to report status")
  end

  local conditions = {}
  if type(status.conditions) == "table" then
    conditions = status.conditions
  end

  for _, condition in ipairs(conditions) do
    if condition.type == "Stopped" and condition.status == "True" then
      local detail = explain(condition.reason, condition.message)
      if detail ~= "" then
        return health("Suspended", "LLMInferenceService is stopped: " .. detail)
      end
      return health("Suspended", "LLMInferenceService is stopped")
    end
  end

  local gating = ordered(conditions)
  local failures = {}
  local reported = {}
  for _, condition in ipairs(gating) do
    if condition.status == "False" and is_failure_reason(condition.reason) then
      local detail = explain(condition.reason, condition.message)
      if not reported[detail] then
        reported[detail] = true
        table.insert(failures, text(condition.type) .. ": " .. detail)
      end
    end
  end
  if #failures > 0 then
    return health("Degraded", table.concat(failures, "; "))
  end

  local generation = nil
  if obj.metadata ~= nil then
    generation = obj.metadata.generation
  end
  local observed = status.observedGeneration
  if type(generation) == "number" and type(observed) == "number" and observed < generation then
    return health("Progressing", "Waiting for the controller to observe generation " .. tostring(generation)
      .. " (status.observedGeneration is " .. tostring(observed) .. ")")
  end

  local pending = {}
  local explained = {}
  local ready = false
  for _, condition in ipairs(gating) do
    if condition.status == "True" then
      if condition.type == "Ready" then
        ready = true
      end
    else
      local line = text(condition.type) .. "=" .. text(condition.status)
      local detail = explain(condition.reason, condition.message)
      if detail ~= "" and not explained[detail] then
        explained[detail] = true
        line = line .. " (" .. detail .. ")"
      end
      table.insert(pending, line)
    end
  end
  if #pending == 0 and ready then
    return health("Healthy", "LLMInferenceService is ready")
  end
  if #pending == 0 then
    return health("Progressing", "Waiting for the Ready condition")
  end
  return health("Progressing", "Not ready: " .. table.concat(pending, ", "))
end

return main()
