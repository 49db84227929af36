"""Dynamic batching: concurrent requests' texts merged into model calls.

Each request puts its texts in one bounded queue and awaits their results. A
single loop takes a batch when it has ``max_batch`` texts or the oldest has
waited ``max_wait_ms``: the oldest text, then the queued texts nearest to it in
length (so a call pads little, and nothing waits behind newer texts forever).
The model runs in ``model_threads`` worker threads, off the event loop (a batch
is formed only when one of them is free, so texts gather while all are busy);
its results are handed back to each text's future. A full queue refuses new texts at once
(``QueueFull``: the server answers 503 with Retry-After) instead of growing.
"""

import asyncio
import concurrent.futures
import dataclasses
import time
from typing import Any, Callable, List, Optional, Sequence


def length_groups(lengths: Sequence[int], call_cost: float) -> List[List[int]]:
  """Indices of ``lengths`` cut into groups of similar length, one model call
  each, minimising the padded characters plus ``call_cost`` per call.

  A call pads every text to its longest, so a batch of mixed lengths costs
  ``size x longest``; splitting it saves padding but pays each call's fixed
  cost (``call_cost``, in characters). Sorted by length, the best cut is a
  dynamic programme over prefixes.
  """
  order = sorted(range(len(lengths)), key=lambda i: lengths[i])
  n = len(order)
  best = [0.0] + [float("inf")] * n   # best[k]: cost of the k shortest
  cut = [0] * (n + 1)
  for end in range(1, n + 1):
    longest = max(1, lengths[order[end - 1]])
    for start in range(end):
      cost = best[start] + call_cost + (end - start) * longest
      if cost < best[end]:
        best[end], cut[end] = cost, start
  groups, end = [], n
  while end > 0:
    groups.append(order[cut[end]:end])
    end = cut[end]
  return groups[::-1]


class QueueFull(Exception):
  """The queue cannot take the texts of a request now."""


@dataclasses.dataclass
class _Item:
  text: str
  future: asyncio.Future
  arrived: float


class DynamicBatcher:
  """Merges texts from concurrent requests into calls of ``run``.

  Args:
    run: texts -> one result per text; called in a worker thread.
    max_batch: the most texts in one call.
    max_wait_ms: how long the oldest queued text may wait for others.
    max_queue: the most texts waiting at once.
    on_batch: called with the size of every call (metrics).
    on_depth: called with the queue depth whenever it changes (metrics).
    call_cost: a model call's fixed cost in padded characters: a batch is cut
      into calls of similar length where that saves more padding than it
      costs (``length_groups``; 0: one call a batch).
    model_threads: model calls that may run at once (TensorFlow releases the
      GIL; on a CPU, two calls of a few texts each use the cores better than
      one).
  """

  def __init__(self, run: Callable[[List[str]], Sequence[Any]],
               max_batch: int = 32, max_wait_ms: float = 5.0,
               max_queue: int = 1024,
               on_batch: Optional[Callable[[int], None]] = None,
               on_depth: Optional[Callable[[int], None]] = None,
               call_cost: float = 0.0, model_threads: int = 1):
    if max_batch < 1 or max_queue < 1 or max_wait_ms < 0 or model_threads < 1:
      raise ValueError("max_batch, max_queue and model_threads must be "
                       "positive, max_wait_ms not negative")
    self.run = run
    self.max_batch = max_batch
    self.max_wait = max_wait_ms / 1000.0
    self.max_queue = max_queue
    self.on_batch = on_batch or (lambda size: None)
    self.on_depth = on_depth or (lambda depth: None)
    self._pending: List[_Item] = []
    self._event: Optional[asyncio.Event] = None
    self._task: Optional[asyncio.Task] = None
    self._executor = concurrent.futures.ThreadPoolExecutor(
        model_threads, thread_name_prefix="model")
    self._threads = model_threads
    self._slots: Optional[asyncio.Semaphore] = None
    self._closing = False
    self.call_cost = call_cost

  @property
  def depth(self) -> int:
    return len(self._pending)

  def start(self) -> None:
    """Starts the batching loop on the running event loop."""
    self._event = asyncio.Event()
    self._slots = asyncio.Semaphore(self._threads)
    self._task = asyncio.get_running_loop().create_task(self._loop())

  async def close(self) -> None:
    """Finishes what is queued, then stops the loop and the worker."""
    self._closing = True
    if self._event:
      self._event.set()
    if self._task:
      await self._task
    self._executor.shutdown(wait=True)

  async def submit(self, texts: Sequence[str]) -> List[Any]:
    """The results of ``texts``, in order.

    Raises:
      QueueFull: the queue has no room for all of them (none is queued).
    """
    if self._closing or self._event is None:
      raise QueueFull("the server is shutting down")
    if len(self._pending) + len(texts) > self.max_queue:
      raise QueueFull(f"{len(self._pending)} texts are waiting (at most "
                      f"{self.max_queue})")
    loop = asyncio.get_running_loop()
    now = time.monotonic()
    items = [_Item(t, loop.create_future(), now) for t in texts]
    self._pending.extend(items)
    self.on_depth(len(self._pending))
    self._event.set()
    return list(await asyncio.gather(*(i.future for i in items)))

  def _take(self) -> List[_Item]:
    """The oldest item and the ``max_batch - 1`` nearest to it in length."""
    oldest = self._pending[0]
    rest = sorted(range(1, len(self._pending)), key=lambda i: (
        abs(len(self._pending[i].text) - len(oldest.text)), i))
    chosen = [0] + rest[:self.max_batch - 1]
    taken = [self._pending[i] for i in chosen]
    keep = set(chosen)
    self._pending = [x for i, x in enumerate(self._pending) if i not in keep]
    self.on_depth(len(self._pending))
    return taken

  async def _wait_for_batch(self) -> None:
    """Returns when a batch is due: ``max_batch`` texts, the oldest's wait
    over, or closing."""
    while True:
      self._event.clear()
      if self._closing or len(self._pending) >= self.max_batch:
        return
      if self._pending:
        left = self._pending[0].arrived + self.max_wait - time.monotonic()
        if left <= 0:
          return
        try:
          await asyncio.wait_for(self._event.wait(), left)
        except asyncio.TimeoutError:
          return
      else:
        await self._event.wait()

  async def _loop(self) -> None:
    calls = set()
    while True:
      await self._slots.acquire()  # a batch forms only once a thread is free
      self._slots.release()
      await self._wait_for_batch()
      if not self._pending:
        if self._closing:
          break
        continue
      taken = self._take()
      groups = (length_groups([len(i.text) for i in taken], self.call_cost)
                if self.call_cost > 0 else [list(range(len(taken)))])
      for group in groups:
        await self._slots.acquire()
        call = asyncio.get_running_loop().create_task(
            self._call([taken[i] for i in group]))
        calls.add(call)
        call.add_done_callback(calls.discard)
    await asyncio.gather(*calls)

  async def _call(self, batch: List[_Item]) -> None:
    """One model call in a worker thread (holding a slot), its results handed
    to the items' futures."""
    try:
      self.on_batch(len(batch))
      results = await asyncio.get_running_loop().run_in_executor(
          self._executor, self.run, [i.text for i in batch])
    except Exception as err:  # pylint: disable=broad-except
      for item in batch:
        if not item.future.done():
          item.future.set_exception(err)
      return
    finally:
      self._slots.release()
    for item, result in zip(batch, results):
      if not item.future.done():  # its request may have gone away
        item.future.set_result(result)
