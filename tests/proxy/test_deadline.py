"""``within`` bounds the proxy's waits (a model server's answer, a stream's next piece, a request
body, a slow caller) as `asyncio.timeout_at` does: a wait past its deadline ends in
``TimeoutError``, and a cancellation from elsewhere (the caller went away, shutdown) stays a
cancellation, never mistaken for a timeout."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from llmops.proxy.deadline import within


def test_a_wait_past_its_deadline_ends_in_timeout_error() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        with pytest.raises(TimeoutError):
            async with within(loop, loop.time() + 0.01):
                await loop.create_future()
        assert asyncio.current_task() is not None
        assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]

    asyncio.run(main())


def test_a_deadline_already_past_still_ends_the_wait() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        with pytest.raises(TimeoutError):
            async with within(loop, loop.time() - 1):
                await asyncio.sleep(10)

    asyncio.run(main())


def test_a_wait_that_ends_in_time_is_left_alone() -> None:
    async def main() -> str:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[str] = loop.create_future()
        loop.call_soon(future.set_result, "answer")
        async with within(loop, loop.time() + 5):
            result = await future
        await asyncio.sleep(0.02)  # no timer left to cancel the task later
        return result

    assert asyncio.run(main()) == "answer"


def test_a_cancellation_from_elsewhere_stays_a_cancellation() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()

        async def wait() -> None:
            async with within(loop, loop.time() + 5):
                await loop.create_future()

        task = loop.create_task(wait())
        await asyncio.sleep(0)
        task.cancel()  # the caller went away
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())


def test_a_cancellation_arriving_with_the_deadline_is_not_swallowed() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()

        async def wait() -> None:
            async with within(loop, loop.time()):  # its cancel is due at once
                task = asyncio.current_task()
                assert task is not None
                loop.call_soon(task.cancel)  # and the caller's right after it
                await loop.create_future()

        with pytest.raises(asyncio.CancelledError):
            await loop.create_task(wait())

    asyncio.run(main())


def test_the_inner_of_two_deadlines_fires_first() -> None:
    async def main() -> str:
        loop = asyncio.get_running_loop()
        async with within(loop, loop.time() + 5):
            try:
                async with within(loop, loop.time() + 0.01):
                    await loop.create_future()
            except TimeoutError:
                return "inner"
        return "none"

    assert asyncio.run(main()) == "inner"


def test_many_deadlines_each_fire_at_their_own_time_never_early() -> None:
    """Blocks share one timer: each still ends at its own deadline (within a slot, 16 ms, and
    never more than the loop's millisecond before it), whatever order they were entered in."""

    async def main() -> list[tuple[float, float]]:
        loop = asyncio.get_running_loop()
        ended: list[tuple[float, float]] = []

        async def wait(delay: float) -> None:
            when = loop.time() + delay
            try:
                async with within(loop, when):
                    await loop.create_future()
            except TimeoutError:
                ended.append((when, loop.time()))

        delays = [0.3, 0.02, 0.15, 0.05, 0.25, 0.1, 0.01, 0.2]
        await asyncio.gather(*(wait(delay) for delay in delays))
        return ended

    ended = asyncio.run(main())
    assert len(ended) == 8
    for when, at in ended:
        assert when - 0.001 <= at <= when + 1 / 64 + 0.05
    # in the order of their deadlines, but for those that share a slot: on a busy machine two
    # deadlines 10 ms apart are both due at one check, and end in the order they were entered
    whens = [when for when, _ in ended]
    assert all(later >= earlier - 1 / 64 for earlier, later in itertools.pairwise(whens))


def test_blocks_that_end_in_time_leave_nothing_waiting() -> None:
    """A proxy that served a million requests keeps nothing for those that ended: the deadlines
    kept are those of the blocks still waiting."""
    from llmops.proxy import deadline

    async def main() -> tuple[int, int]:
        loop = asyncio.get_running_loop()
        for index in range(2_000):
            async with within(loop, loop.time() + 300 + index / 100):
                await asyncio.sleep(0)
        kept = deadline._deadlines_of(loop)._slots
        async with within(loop, loop.time() + 300):
            waiting = len(kept)
        return len(kept), waiting

    assert asyncio.run(main()) == (0, 1)
