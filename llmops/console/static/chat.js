// The chat playground: one streamed chat completion through the proxy's own OpenAI route,
// shown token by token; the proxy's refusals (limits, roles) are shown as it words them.
"use strict";
(function () {
  var form = document.getElementById("chat");
  var answer = document.getElementById("answer");
  var status = document.getElementById("chat-status");
  var send = document.getElementById("send");

  function errorText(body, code) {
    try {
      var parsed = JSON.parse(body);
      if (parsed.error && parsed.error.message) { return parsed.error.message; }
      if (parsed.message) { return parsed.message; }
    } catch (ignored) { /* not JSON */ }
    return "HTTP " + code;
  }

  function handleEvent(data) {
    if (data === "[DONE]") { return true; }
    var event = JSON.parse(data);
    if (event.error) { throw new Error(event.error.message || "the stream failed"); }
    var choice = event.choices && event.choices[0];
    if (choice && choice.delta && choice.delta.content) {
      answer.textContent += choice.delta.content;
    }
    return false;
  }

  async function run() {
    var option = document.getElementById("endpoint").selectedOptions[0];
    var messages = [];
    var system = document.getElementById("system").value;
    if (system.trim()) { messages.push({ role: "system", content: system }); }
    messages.push({ role: "user", content: document.getElementById("message").value });
    var body = {
      // the proxy names the endpoint's served model itself; an adapter is asked for by name
      model: option.dataset.model || option.value,
      messages: messages,
      temperature: parseFloat(document.getElementById("temperature").value),
      max_tokens: parseInt(document.getElementById("max_tokens").value, 10),
      stream: true
    };
    var headers = Object.assign({ "Content-Type": "application/json" }, window.llmopsAuthHeaders());
    var url = "/llm-ops/v1/serve/" + encodeURIComponent(option.value) + "/v1/chat/completions";
    var response = await fetch(url, { method: "POST", headers: headers, body: JSON.stringify(body) });
    if (!response.ok) { throw new Error(errorText(await response.text(), response.status)); }
    var variant = response.headers.get("X-LLMOps-Variant");
    var reader = response.body.getReader();
    var decoder = new TextDecoder();
    var buffer = "";
    for (;;) {
      var chunk = await reader.read();
      if (chunk.done) { break; }
      buffer += decoder.decode(chunk.value, { stream: true });
      var events = buffer.split(/\r?\n\r?\n/);
      buffer = events.pop();
      for (var i = 0; i < events.length; i++) {
        var lines = events[i].split(/\r?\n/).filter(function (line) { return line.indexOf("data:") === 0; });
        if (!lines.length) { continue; }
        var data = lines.map(function (line) { return line.slice(5).trim(); }).join("\n");
        if (handleEvent(data)) { return variant; }
      }
    }
    return variant;
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    answer.textContent = "";
    status.textContent = "Streaming…";
    send.disabled = true;
    run().then(function (variant) {
      status.textContent = "Done" + (variant ? " (experiment variant " + variant + ")" : "") + ".";
    }).catch(function (error) {
      status.textContent = "Error: " + error.message;
    }).finally(function () { send.disabled = false; });
  });
})();
