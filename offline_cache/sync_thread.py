"""One replicator on a thread and event loop of its own (issue 14).

The desk's UI is one asyncio loop: whatever else runs on it runs between the agent's
keystrokes. The replicator's HTTP requests, the event stream's parsing and the validation of
pulled pages are CPU work of their own (several times a second while another agent pushes),
so the desk runs :meth:`Replicator.run` here instead. What crosses between the threads:

- control goes in through the replicator's thread-safe methods (``poke``, ``saved_locally``,
  ``set_token``, ``request_stop``: ``call_soon_threadsafe`` into this loop);
- ``on_state`` and ``on_event`` are called on this thread: the UI hands them to its own loop
  (Textual's ``post_message`` is thread-safe and does not wait);
- :meth:`Replicator.snapshot` is one attribute read, safe from any thread.

Stopping is bounded: :meth:`SyncThread.join` waits for the round in flight, then cancels it
(an outbox row leaves only once its answer is recorded, so a cancelled round loses nothing:
it is pushed again, and the server answers ``duplicate``), then gives up waiting on a thread
that is a daemon and holds nothing the next start needs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable

from offline_cache.replicator import Replicator, TokenSource

log = logging.getLogger("offline_cache.sync_thread")

STOP_WAIT_SECONDS = 5.0  # the round in flight may finish (a request's timeout is 10 s)
CANCEL_WAIT_SECONDS = 2.0  # after cancelling it: the store call in its thread ends
ExitCallback = Callable[["BaseException | None"], None]


class SyncThread:
    """Runs one :class:`Replicator` until stopped, on a thread named ``name``.

    ``on_exit(error)`` is called on that thread when ``run()`` has ended: ``None`` after a
    stop, the exception when it failed (the UI says so; the outbox is kept). One start per
    object: a stopped replicator's asyncio events belong to its finished loop, so the next
    session makes a new replicator and a new ``SyncThread``."""

    def __init__(
        self,
        replicator: Replicator,
        *,
        name: str = "replicator",
        on_exit: ExitCallback | None = None,
    ) -> None:
        self.replicator = replicator
        self.name = name
        self._on_exit = on_exit
        self._thread: threading.Thread | None = None
        self._stop_asked = False
        self._lock = threading.Lock()  # guards _loop and _task (published by the thread)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None

    # ------------------------------------------------------------ state

    @property
    def running(self) -> bool:
        """Started, not asked to stop, and its thread has not ended."""
        thread = self._thread
        return thread is not None and thread.is_alive() and not self._stop_asked

    @property
    def ended(self) -> bool:
        """Its thread has ended (or never started)."""
        thread = self._thread
        return thread is None or not thread.is_alive()

    # ------------------------------------------------------------ control (any thread)

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("a SyncThread starts once; make a new one for the next run")
        self._thread = threading.Thread(target=self._main, name=self.name, daemon=True)
        self._thread.start()

    def poke(self) -> None:
        self.replicator.poke()

    def saved_locally(self) -> None:
        self.replicator.saved_locally()

    def set_token(self, token: str | TokenSource | None) -> None:
        self.replicator.set_token(token)

    def request_stop(self) -> None:
        """Stop after the round in flight; returns at once (:meth:`join` waits)."""
        self._stop_asked = True
        self.replicator.request_stop()

    def join(
        self, wait: float = STOP_WAIT_SECONDS, cancel_wait: float = CANCEL_WAIT_SECONDS
    ) -> bool:
        """Wait up to ``wait`` seconds for the thread to end; then cancel the round in
        flight and wait up to ``cancel_wait`` more. True: it has ended. Blocking: call it
        from a thread (the UI: ``asyncio.to_thread``), never from the replicator's own."""
        thread = self._thread
        if thread is None:
            return True
        if thread is threading.current_thread():
            raise RuntimeError("SyncThread.join from its own thread")
        thread.join(wait)
        if thread.is_alive():
            self._cancel()
            thread.join(cancel_wait)
        if thread.is_alive():
            log.warning("replicator thread %s still busy after the stop; left behind", self.name)
            return False
        return True

    def stop(
        self, wait: float = STOP_WAIT_SECONDS, cancel_wait: float = CANCEL_WAIT_SECONDS
    ) -> bool:
        """:meth:`request_stop` and :meth:`join` (blocking)."""
        self.request_stop()
        return self.join(wait, cancel_wait)

    def _cancel(self) -> None:
        with self._lock:
            loop, task = self._loop, self._task
        if loop is None or task is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop has just closed: it is ending
            loop.call_soon_threadsafe(task.cancel)

    # ------------------------------------------------------------ the thread

    def _main(self) -> None:
        error: BaseException | None = None
        started = time.monotonic()
        try:
            asyncio.run(self._run())
        except asyncio.CancelledError:
            pass  # join() cancelled a round that outlived the stop: asked for
        except Exception as exc:  # run() failed: say so, the outbox is kept
            log.exception("replicator thread %s failed", self.name)
            error = exc
        finally:
            with self._lock:
                self._loop, self._task = None, None
            took = time.monotonic() - started
            log.debug("replicator thread %s ended after %.1f s", self.name, took)
            if self._on_exit is not None:
                try:
                    self._on_exit(error)
                except Exception:
                    log.exception("on_exit callback failed")

    async def _run(self) -> None:
        with self._lock:
            self._loop = asyncio.get_running_loop()
            self._task = asyncio.current_task()
        await self.replicator.run()


__all__ = ["CANCEL_WAIT_SECONDS", "STOP_WAIT_SECONDS", "SyncThread"]
