"""A deterministic stand-in for an LLM, served by KServe's own ModelServer (kserve 0.14.1).

It answers the OpenAI routes KServe's Hugging Face runtime serves (`/openai/v1/chat/completions`,
`/openai/v1/completions`, `/openai/v1/models`) plus KServe's readiness route `/v1/models/<name>`, so
`llmops proxy` talks to it exactly as to a model in the cluster. The answer is predictable:

    echo: <the last user message>                       (chat, without a system message)
    (system: <first line of the system message>) echo: <the last user message>
    echo: <the prompt>                                  (completion)

Words are tokens: `max_tokens` cuts the answer after that many words (`finish_reason: length`), and
a stream sends one word per chunk, `--token_delay` seconds apart.

Run it in the KServe virtualenv (`make kserve-venv`), on loopback:

    .venv-kserve/bin/python examples/sandbox/echo_model.py --model_name example-model --http_port
    8080

KServe parses the command line itself when imported (`--model_name`, `--http_port`, ...); this
script adds `--token_delay` and `--listen_host` (KServe 0.14.1 always binds 0.0.0.0; this keeps it
on 127.0.0.1).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from kserve import ModelServer
from kserve.protocol.rest.openai import ChatCompletionRequest, CompletionRequest, OpenAIModel
from kserve.protocol.rest.openai.types import ChatCompletion, ChatCompletionChunk, Completion


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts
        return " ".join(getattr(part, "text", "") or "" for part in content)
    return ""


def chat_answer(messages: list[Any]) -> str:
    system = next((_text(m.content) for m in messages if m.role == "system"), None)
    user = next((_text(m.content) for m in reversed(messages) if m.role == "user"), "")
    prefix = f"(system: {system.strip().splitlines()[0]}) " if system and system.strip() else ""
    return f"{prefix}echo: {user}"


def limit_words(text: str, max_tokens: int | None) -> tuple[list[str], str]:
    words = text.split()
    if max_tokens is not None and len(words) > max_tokens:
        return words[:max_tokens], "length"
    return words, "stop"


class EchoModel(OpenAIModel):
    """KServe's OpenAI model interface: `create_completion` and `create_chat_completion`, each
    returning one object, or an async iterator of chunks when the request asks for a stream."""

    def __init__(self, name: str, token_delay: float):
        super().__init__(name)
        self.token_delay = token_delay

    async def create_chat_completion(self, request: ChatCompletionRequest) -> Any:
        params = request.params
        words, finish = limit_words(chat_answer(params.messages), params.max_tokens)
        created = int(time.time())
        completion_id = f"chatcmpl-{request.request_id or 'echo'}"
        prompt_tokens = sum(len(_text(m.content).split()) for m in params.messages)
        if params.stream:
            return self._chat_chunks(completion_id, created, words, finish)
        return ChatCompletion(
            id=completion_id,
            object="chat.completion",
            created=created,
            model=self.name,
            choices=[
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": " ".join(words)},
                    "finish_reason": finish,
                    "logprobs": None,
                }
            ],
            usage={
                "prompt_tokens": prompt_tokens,
                "completion_tokens": len(words),
                "total_tokens": prompt_tokens + len(words),
            },
        )

    async def _chat_chunks(
        self, completion_id: str, created: int, words: list[str], finish: str
    ) -> AsyncIterator[ChatCompletionChunk]:
        def chunk(delta: dict[str, Any], finish_reason: str | None) -> ChatCompletionChunk:
            return ChatCompletionChunk(
                id=completion_id,
                object="chat.completion.chunk",
                created=created,
                model=self.name,
                choices=[{"index": 0, "delta": delta, "finish_reason": finish_reason}],
            )

        yield chunk({"role": "assistant", "content": ""}, None)
        for index, word in enumerate(words):
            await asyncio.sleep(self.token_delay)
            yield chunk({"content": word if index == 0 else f" {word}"}, None)
        yield chunk({}, finish)

    async def create_completion(self, request: CompletionRequest) -> Any:
        params = request.params
        prompt = (
            params.prompt
            if isinstance(params.prompt, str)
            else " ".join(map(str, params.prompt or []))
        )
        words, finish = limit_words(f"echo: {prompt}", params.max_tokens)
        created = int(time.time())
        completion_id = f"cmpl-{request.request_id or 'echo'}"
        if params.stream:
            return self._completion_chunks(completion_id, created, words, finish)
        prompt_tokens = len(prompt.split())
        return Completion(
            id=completion_id,
            object="text_completion",
            created=created,
            model=self.name,
            choices=[
                {"index": 0, "text": " ".join(words), "finish_reason": finish, "logprobs": None}
            ],
            usage={
                "prompt_tokens": prompt_tokens,
                "completion_tokens": len(words),
                "total_tokens": prompt_tokens + len(words),
            },
        )

    async def _completion_chunks(
        self, completion_id: str, created: int, words: list[str], finish: str
    ) -> AsyncIterator[Completion]:
        for index, word in enumerate(words):
            await asyncio.sleep(self.token_delay)
            last = index == len(words) - 1
            yield Completion(
                id=completion_id,
                object="text_completion",
                created=created,
                model=self.name,
                choices=[
                    {
                        "index": 0,
                        "text": word if index == 0 else f" {word}",
                        "finish_reason": finish if last else None,
                        "logprobs": None,
                    }
                ],
            )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--model_name", default="model", help="the served model name (KServe's own option)"
    )
    parser.add_argument(
        "--token_delay", type=float, default=0.0, help="seconds between streamed words"
    )
    parser.add_argument(
        "--listen_host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)"
    )
    args, _ = parser.parse_known_args()  # the rest (--http_port, ...) is KServe's
    server = ModelServer(enable_grpc=False)
    server._rest_server._server.config.host = args.listen_host  # 0.14.1 hard-codes 0.0.0.0
    server.start([EchoModel(args.model_name, args.token_delay)])


if __name__ == "__main__":
    main()
