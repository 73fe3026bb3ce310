"""A model folder served with transformers on CPU, behind KServe's own ModelServer and OpenAI routes
(kserve 0.14.1): the CPU path of KServe's Hugging Face runtime, for what the trainer wrote.

KServe's `kserve-huggingfaceserver` runtime runs upstream's huggingfaceserver, which is not on
PyPI; this module is the small equivalent used here. It takes the arguments a rendered
InferenceService gives its container on CPU (`--model_name`, `--backend=huggingface`,
`--max_model_len`, `--dtype`) and the runtime's own (`--model_dir`, default /mnt/models where the
storage initializer puts the storageUri; `--http_port`), loads the folder with transformers and
answers `/openai/v1/chat/completions`, `/openai/v1/completions` and `/openai/v1/models`, plus the
readiness route `/v1/models/<name>` the rendered probes call. Chat prompts are written with the
folder's own chat template (the trainer saves the one it trained with). `temperature: 0` is greedy
decoding; a stream sends each token's text as it is generated. Any argument it does not know is an
error, so a renderer change that this server cannot honour shows at once.

Run it in its virtualenv (`make serve-venv`), on loopback:

    .venv-serve/bin/python examples/sandbox/huggingface_model.py --model_name=support-chat \\
        --backend=huggingface --max_model_len=512 --model_dir=MODEL_FOLDER --http_port=8080

`--listen_host` (default 127.0.0.1) is this module's own: KServe 0.14.1 always binds 0.0.0.0.
"""

from __future__ import annotations

import argparse
import asyncio
import queue
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import torch
from kserve import ModelServer
from kserve import model_server as kserve_server
from kserve.errors import InvalidInput
from kserve.protocol.rest.openai import ChatCompletionRequest, CompletionRequest, OpenAIModel
from kserve.protocol.rest.openai.types import ChatCompletion, ChatCompletionChunk, Completion
from transformers import AutoModelForCausalLM, AutoTokenizer, StoppingCriteria, StoppingCriteriaList
from transformers.generation.streamers import BaseStreamer

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
DEFAULT_MODEL_DIR = "/mnt/models"  # where KServe's storage initializer writes the storageUri


@dataclass(frozen=True)
class Sampling:
    """What one request asks of the generator."""

    max_new_tokens: int
    temperature: float
    top_p: float
    seed: int | None
    stop: tuple[str, ...]


class TokenQueue(BaseStreamer):  # type: ignore[misc]
    """Receives generate()'s new token ids, one step at a time, from the generating thread."""

    def __init__(self) -> None:
        self.items: queue.Queue[int | None] = queue.Queue()
        self.prompt_seen = False
        self.cancelled = threading.Event()

    def put(self, value: torch.Tensor) -> None:
        if not self.prompt_seen:  # generate() hands over the prompt first
            self.prompt_seen = True
            return
        for token in value.reshape(-1).tolist():
            self.items.put(int(token))

    def end(self) -> None:
        self.items.put(None)


class Cancelled(StoppingCriteria):  # type: ignore[misc]
    """Ends generate() early once nobody reads the tokens any more."""

    def __init__(self, event: threading.Event) -> None:
        self.event = event

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor, **_: Any) -> torch.Tensor:
        return torch.full((input_ids.shape[0],), self.event.is_set(), dtype=torch.bool)


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts
        return "".join(getattr(part, "text", "") or "" for part in content)
    return ""


class HuggingFaceModel(OpenAIModel):
    """One causal language model from a folder; one generation at a time (CPU threads are
    shared)."""

    def __init__(self, name: str, model_dir: str, max_model_len: int | None, dtype: str) -> None:
        super().__init__(name)
        self.ready = False
        self.model_dir = model_dir
        self.dtype = dtype
        self.lock = threading.Lock()
        self.tokenizer: Any = None
        self.model: Any = None
        self.max_model_len = max_model_len or 0

    def load(self) -> bool:
        self.tokenizer = AutoTokenizer.from_pretrained(self.model_dir)
        dtype: Any = DTYPES.get(self.dtype, "auto")
        self.model = AutoModelForCausalLM.from_pretrained(self.model_dir, dtype=dtype)
        self.model.eval()
        if not self.max_model_len:
            self.max_model_len = int(getattr(self.model.config, "max_position_embeddings", 2048))
        self.ready = True
        return self.ready

    # -- prompts and limits ----------------------------------------------------------------------

    def prompt_ids(self, text: str) -> list[int]:
        bos = self.tokenizer.bos_token
        special = not (bos and text.startswith(bos))  # the chat template may write BOS itself
        ids: list[int] = self.tokenizer(text, add_special_tokens=special)["input_ids"]
        return ids

    def chat_prompt(self, messages: list[Any]) -> str:
        if not getattr(self.tokenizer, "chat_template", None):
            raise InvalidInput(f"{self.model_dir} has no chat template: use /completions")
        conversation = [{"role": m.role, "content": _text(m.content)} for m in messages]
        text: str = self.tokenizer.apply_chat_template(
            conversation, tokenize=False, add_generation_prompt=True
        )
        return text

    def sampling(self, params: Any, prompt_tokens: int) -> Sampling:
        room = self.max_model_len - prompt_tokens
        if room <= 0:
            raise InvalidInput(
                f"the prompt has {prompt_tokens} tokens; this model serves at most "
                f"{self.max_model_len} (--max_model_len) in all"
            )
        if getattr(params, "n", None) not in (None, 1):
            raise InvalidInput("n other than 1 is not supported")
        asked = params.max_tokens
        stop = params.stop
        return Sampling(
            max_new_tokens=min(asked, room) if asked else room,
            temperature=1.0 if params.temperature is None else float(params.temperature),
            top_p=1.0 if params.top_p is None else float(params.top_p),
            seed=params.seed,
            stop=(stop,) if isinstance(stop, str) else tuple(stop or ()),
        )

    # -- generation ------------------------------------------------------------------------------

    def _generate(self, ids: list[int], sampling: Sampling, tokens: TokenQueue) -> None:
        options: dict[str, Any] = {"max_new_tokens": sampling.max_new_tokens}
        if sampling.temperature > 0:
            options.update(do_sample=True, temperature=sampling.temperature, top_p=sampling.top_p)
        else:
            options.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        pad = self.tokenizer.pad_token_id
        with self.lock, torch.inference_mode():
            if sampling.seed is not None:
                torch.manual_seed(sampling.seed)
            try:
                self.model.generate(
                    input_ids=torch.tensor([ids]),
                    attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                    pad_token_id=self.tokenizer.eos_token_id if pad is None else pad,
                    streamer=tokens,
                    stopping_criteria=StoppingCriteriaList([Cancelled(tokens.cancelled)]),
                    **options,
                )
            finally:
                tokens.end()

    async def pieces(
        self, ids: list[int], sampling: Sampling, counted: list[int] | None = None
    ) -> AsyncIterator[tuple[str, str]]:
        """(text, "") while generating, then ("", finish_reason); `counted` gets the number of
        tokens generated. The text held back is what could still become a stop string or an
        unfinished UTF-8 character."""
        tokens = TokenQueue()
        worker = threading.Thread(target=self._generate, args=(ids, sampling, tokens), daemon=True)
        worker.start()
        generated: list[int] = []
        sent = 0
        hold = max((len(s) for s in sampling.stop), default=1) - 1
        finish = "length"
        stopped = False
        try:
            while (token := await asyncio.to_thread(tokens.items.get)) is not None:
                if token == self.tokenizer.eos_token_id:
                    finish = "stop"
                    continue
                generated.append(token)
                text = self.tokenizer.decode(generated, skip_special_tokens=True)
                cuts = [i for i in (text.find(s) for s in sampling.stop) if i >= 0]
                if cuts:
                    if min(cuts) > sent:
                        yield text[sent : min(cuts)], ""
                    finish, stopped = "stop", True
                    break
                ready = len(text) - hold - (1 if text.endswith("\ufffd") else 0)
                if ready > sent:
                    yield text[sent:ready], ""
                    sent = ready
            if not stopped:
                text = self.tokenizer.decode(generated, skip_special_tokens=True)
                if len(text) > sent:
                    yield text[sent:], ""
        finally:  # a stop string, or the caller went away: the generator stops at its next step
            tokens.cancelled.set()
            await asyncio.to_thread(worker.join)
        if counted is not None:
            counted.append(len(generated))
        yield "", finish

    async def answer(self, ids: list[int], sampling: Sampling) -> tuple[str, str, int]:
        parts: list[str] = []
        finish = "length"
        counted: list[int] = []
        async for text, done in self.pieces(ids, sampling, counted):
            parts.append(text)
            finish = done or finish
        return "".join(parts), finish, sum(counted)

    # -- the OpenAI routes -----------------------------------------------------------------------

    async def create_chat_completion(self, request: ChatCompletionRequest) -> Any:
        params = request.params
        ids = self.prompt_ids(self.chat_prompt(list(params.messages)))
        sampling = self.sampling(params, len(ids))
        completion_id = f"chatcmpl-{request.request_id or uuid.uuid4().hex}"
        created = int(time.time())
        if params.stream:
            return self._chat_chunks(completion_id, created, ids, sampling)
        text, finish, generated = await self.answer(ids, sampling)
        return ChatCompletion(
            id=completion_id,
            object="chat.completion",
            created=created,
            model=self.name,
            choices=[
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": finish,
                    "logprobs": None,
                }
            ],
            usage=self._usage(len(ids), generated),
        )

    async def _chat_chunks(
        self, completion_id: str, created: int, ids: list[int], sampling: Sampling
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
        async for text, finish in self.pieces(ids, sampling):
            yield chunk({"content": text}, None) if text else chunk({}, finish)

    async def create_completion(self, request: CompletionRequest) -> Any:
        params = request.params
        prompt = params.prompt
        if isinstance(prompt, list) and len(prompt) == 1 and isinstance(prompt[0], str):
            prompt = prompt[0]
        if not isinstance(prompt, str):
            raise InvalidInput("prompt must be one string")
        ids = self.prompt_ids(prompt)
        sampling = self.sampling(params, len(ids))
        completion_id = f"cmpl-{request.request_id or uuid.uuid4().hex}"
        created = int(time.time())
        if params.stream:
            return self._completion_chunks(completion_id, created, ids, sampling)
        text, finish, generated = await self.answer(ids, sampling)
        return Completion(
            id=completion_id,
            object="text_completion",
            created=created,
            model=self.name,
            choices=[{"index": 0, "text": text, "finish_reason": finish, "logprobs": None}],
            usage=self._usage(len(ids), generated),
        )

    async def _completion_chunks(
        self, completion_id: str, created: int, ids: list[int], sampling: Sampling
    ) -> AsyncIterator[Completion]:
        async for text, finish in self.pieces(ids, sampling):
            yield Completion(
                id=completion_id,
                object="text_completion",
                created=created,
                model=self.name,
                choices=[
                    {
                        "index": 0,
                        "text": text,
                        "finish_reason": finish or None,
                        "logprobs": None,
                    }
                ],
            )

    @staticmethod
    def _usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
        return {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }


def arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[kserve_server.parser],  # --http_port, --model_name, ...: KServe's own
    )
    parser.add_argument("--model_dir", default=DEFAULT_MODEL_DIR, help="the model folder")
    parser.add_argument(
        "--backend",
        default="huggingface",
        choices=["auto", "huggingface", "vllm"],
        help="huggingface (transformers on CPU); vllm is the GPU runtime's, not served here",
    )
    parser.add_argument("--max_model_len", type=int, default=None, help="prompt + answer tokens")
    parser.add_argument("--dtype", default="auto", choices=["auto", *DTYPES])
    parser.add_argument("--task", default="text_generation", choices=["text_generation"])
    parser.add_argument("--listen_host", default="127.0.0.1", help="address to bind")
    args = parser.parse_args(argv)
    if args.backend == "vllm":
        parser.error("--backend=vllm: this server runs transformers on CPU only")
    return args


def main(argv: list[str] | None = None) -> None:
    args = arguments(sys.argv[1:] if argv is None else argv)
    model = HuggingFaceModel(args.model_name, args.model_dir, args.max_model_len, args.dtype)
    model.load()
    server = ModelServer(http_port=args.http_port, enable_grpc=False)
    server._rest_server._server.config.host = args.listen_host  # 0.14.1 hard-codes 0.0.0.0
    server.start([model])


if __name__ == "__main__":
    main()
