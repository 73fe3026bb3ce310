-- Argo CD health check for serving.kserve.io/InferenceService (KServe 0.20, Standard/raw mode).
--
-- Installed through argocd-cm as `resource.customizations.health.serving.kserve.io_InferenceService`;
-- deploy/argocd/argocd-cm-health.yaml carries exactly this text (tests/deploy keeps the two identical).
-- Argo CD sets `obj` (the live object) as a global and reads the returned {status, message}.
--
-- Verdicts, in this order:
--   1. no status yet                                      -> Progressing
--   2. condition Stopped=True                             -> Suspended
--   3. a failure: modelStatus.transitionStatus BlockedByFailedLoad or InvalidSpec,
--      modelStatus.states.targetModelState FailedToLoad, or any condition False whose
--      reason names a failure (ProgressDeadlineExceeded, FailedCreate, ...; any reason
--      containing Fail, Error, Invalid, CrashLoop, BackOff or DeadlineExceeded)
--                                                         -> Degraded, naming reason and message
--   4. status.observedGeneration < metadata.generation    -> Progressing (status is older than the spec)
--   5. every condition True (Stopped aside), Ready among them, and the model UpToDate
--                                                         -> Healthy
--   6. anything else                                      -> Progressing, listing what is not True
--
-- Where this differs from the check bundled with Argo CD 3.5.1 (on purpose):
--   * a failed predictor (PredictorReady/Ready False with a failure reason while the model is
--     still InProgress, e.g. ProgressDeadlineExceeded) is Degraded; the bundled check says Progressing;
--   * a status older than the spec is Progressing; the bundled check ignores generation and can
--     call a just-changed InferenceService Healthy on the previous revision's conditions.
--
-- The generation gate (4) is conservative, and imperfect in KServe 0.20: the controller does not
-- write the InferenceService's own generation into status.observedGeneration, it copies the child
-- Deployment's (kserve issue #6081; fix proposed in kserve PR #6096). The two counters move together
-- when every spec change reaches the Deployment, which is what the gate relies on. But:
--   * a spec change that does not touch the Deployment (e.g. only maxReplicas under the HPA, or
--     timeout) leaves observedGeneration behind until the Deployment next changes, and this check
--     says Progressing meanwhile (a sync waiting on this wave waits too);
--   * a Deployment that changes more often than the InferenceService (HPA scaling bumps its
--     generation) lets the gate pass early, so it then adds nothing.
-- Failures (3) are judged before the gate so that an invalid spec, which never reaches the
-- Deployment, is Degraded and not Progressing for ever. Set GATE_ON_GENERATION to false to drop it.
--
-- modelStatus.lastFailureInfo is reported with a failure but is not a failure by itself: KServe
-- never clears it, so an InferenceService that recovered (UpToDate, Loaded) still carries it.
--
-- Only the base and table libraries are needed. Argo CD opens the string library only with
-- `resource.customizations.useOpenLibs.serving.kserve.io_InferenceService: "true"` (set in the
-- same ConfigMap); without it, failures are recognised by the exact reasons listed below.

local GATE_ON_GENERATION = true

-- Reasons KServe and the Deployment controller use for failures (exact match, no library needed).
local FAILURE_REASONS = {
  ModelLoadFailed = true, RuntimeUnhealthy = true, RuntimeDisabled = true, NoSupportingRuntime = true,
  RuntimeNotRecognized = true, InvalidPredictorSpec = true, InvalidWorkerSpecNotSet = true,
  InvalidGPUAllocation = true, ProgressDeadlineExceeded = true, FailedCreate = true,
  CrashLoopBackOff = true, ImagePullBackOff = true, ErrImagePull = true,
}
-- Words that mark any other reason as a failure (needs the string library).
local FAILURE_WORDS = { "Fail", "Error", "Invalid", "CrashLoop", "BackOff", "DeadlineExceeded" }

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

local function main()
  local status = obj.status
  if status == nil then
    return health("Progressing", "Waiting for the InferenceService controller to report status")
  end

  local conditions = {}
  if type(status.conditions) == "table" then
    conditions = status.conditions
  end

  -- 2. Stopped (KServe >= 0.15.1 reports Stopped=False on running services, which is the normal state).
  for _, condition in ipairs(conditions) do
    if condition.type == "Stopped" and condition.status == "True" then
      local detail = explain(condition.reason, condition.message)
      if detail ~= "" then
        return health("Suspended", "InferenceService is stopped: " .. detail)
      end
      return health("Suspended", "InferenceService is stopped")
    end
  end

  -- 3. Failures.
  local failures = {}
  local model = status.modelStatus
  local transition = nil
  if type(model) == "table" then
    transition = model.transitionStatus
    local target = nil
    if type(model.states) == "table" then
      target = model.states.targetModelState
    end
    if transition == "BlockedByFailedLoad" or transition == "InvalidSpec" or target == "FailedToLoad" then
      local line = "model " .. text(transition)
      if target ~= nil then
        line = line .. " (target " .. text(target) .. ")"
      end
      if type(model.lastFailureInfo) == "table" then
        local detail = explain(model.lastFailureInfo.reason, model.lastFailureInfo.message)
        if detail ~= "" then
          line = line .. ": " .. detail
        end
      end
      table.insert(failures, line)
    end
  end
  local reported = {}  -- Ready repeats the reason and message of the condition that made it False
  for _, condition in ipairs(conditions) do
    if condition.type ~= "Stopped" and condition.status == "False" and is_failure_reason(condition.reason) then
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

  -- 4. Status older than the spec.
  local generation = nil
  if obj.metadata ~= nil then
    generation = obj.metadata.generation
  end
  local observed = status.observedGeneration
  if GATE_ON_GENERATION and type(generation) == "number" and type(observed) == "number"
      and observed < generation then
    return health("Progressing", "Waiting for the controller to observe generation " .. tostring(generation)
      .. " (status.observedGeneration is " .. tostring(observed) .. ")")
  end

  -- 5./6. Ready, or what is missing.
  local pending = {}
  local explained = {}
  local ready = false
  for _, condition in ipairs(conditions) do
    if condition.type ~= "Stopped" then
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
  end
  if type(transition) == "string" and transition ~= "" and transition ~= "UpToDate" then
    table.insert(pending, "model " .. transition)
  end
  if #pending == 0 and ready then
    return health("Healthy", "InferenceService is ready")
  end
  if #pending == 0 then
    return health("Progressing", "Waiting for the Ready condition")
  end
  return health("Progressing", "Not ready: " .. table.concat(pending, ", "))
end

return main()
