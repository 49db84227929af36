"""Several machines: ``TF_CONFIG``, which worker is the chief, where each writes.

``--distribution_strategy=multi_worker_mirrored`` follows TensorFlow's guide to
multi-worker training with a custom loop:

* every worker reads ``TF_CONFIG`` (``{"cluster": {"worker": [...]}, "task":
  {"type": "worker", "index": I}}``, or a ``chief`` job); ``read_tf_config``
  checks it first and names what is wrong in one line;
* the chief (``chief`` 0, else ``worker`` 0) alone writes ``--model_dir``; every
  other worker writes the same files into a temporary folder of its own
  (``write_dir``), which it deletes when it is done. All workers save
  checkpoints, because saving a distributed model takes every worker, but
  every worker restores from the chief's;
* a worker waits at most ``--worker_timeout`` seconds for the others to come
  up (``StartupWatchdog``): TensorFlow itself would wait for an hour, inside a
  C++ call that holds the interpreter, so the watchdog is a small process of
  its own that names the unreachable addresses and stops the worker.
"""

import dataclasses
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from typing import List, Mapping, Optional, Sequence, Tuple

import tensorflow as tf

from bert_mtl_ner.errors import BertMtlNerError
from bert_mtl_ner.errors import UsageError

ENV = "TF_CONFIG"
JOBS = ("chief", "worker")


@dataclasses.dataclass(frozen=True)
class Role:
  """This process's place in the cluster.

  Attributes:
    task_type: ``chief`` or ``worker``.
    task_id: index within its job.
    addresses: every task's ``host:port``, as ``((name, address), ...)``, with
      names like ``worker 1``, in the order of ``TF_CONFIG``.
  """
  task_type: str
  task_id: int
  addresses: Tuple[Tuple[str, str], ...]

  @property
  def name(self) -> str:
    return f"{self.task_type} {self.task_id}"

  @property
  def is_chief(self) -> bool:
    """The chief writes the model directory: ``chief`` 0, else ``worker`` 0."""
    jobs = {name.split()[0] for name, _ in self.addresses}
    leader = "chief" if "chief" in jobs else "worker"
    return self.task_type == leader and self.task_id == 0

  @property
  def peers(self) -> Tuple[Tuple[str, str], ...]:
    """The other tasks' (name, address)."""
    return tuple(p for p in self.addresses if p[0] != self.name)


def read_tf_config(environ: Mapping[str, str] = os.environ) -> Optional[Role]:
  """This worker's role from ``TF_CONFIG``; None when it is not set.

  Raises:
    UsageError: ``TF_CONFIG`` is not valid JSON, has no cluster of chief and
      worker jobs, or names no task of that cluster for this worker.
  """
  text = environ.get(ENV, "").strip()
  if not text:
    return None
  try:
    config = json.loads(text)
  except json.JSONDecodeError as err:
    raise UsageError(f"{ENV} is not valid JSON ({err.msg} at character "
                     f"{err.pos}): {text[:80]!r}") from None
  if not isinstance(config, dict):
    raise UsageError(f"{ENV} must be a JSON object with \"cluster\" and "
                     f"\"task\", not {text[:80]!r}")
  cluster = config.get("cluster")
  if not isinstance(cluster, dict) or not cluster:
    raise UsageError(f"{ENV} names no cluster: give \"cluster\": {{\"worker\": "
                     "[\"host:port\", ...]}")
  unknown = sorted(set(cluster) - set(JOBS))
  if unknown:
    raise UsageError(f"{ENV}: multi_worker_mirrored takes the jobs "
                     f"{' and '.join(JOBS)}, not {', '.join(unknown)}")
  addresses = []
  for job in JOBS:
    hosts = cluster.get(job) or []
    if not isinstance(hosts, list) or not all(
        isinstance(h, str) and h.rpartition(":")[2].isdigit() for h in hosts):
      raise UsageError(f"{ENV}: cluster.{job} must be a list of \"host:port\", "
                       f"not {hosts!r}")
    addresses += [(f"{job} {i}", host) for i, host in enumerate(hosts)]
  task = config.get("task")
  if not isinstance(task, dict) or "type" not in task or "index" not in task:
    raise UsageError(f"{ENV} names no task for this worker: give \"task\": "
                     "{\"type\": \"worker\", \"index\": I}")
  task_type, task_id = task["type"], task["index"]
  if (task_type not in JOBS or not isinstance(task_id, int)
      or not 0 <= task_id < len(cluster.get(task_type) or [])):
    raise UsageError(f"{ENV}: task {task_type} {task_id} is not in the "
                     f"cluster ({', '.join(n for n, _ in addresses)})")
  return Role(task_type, task_id, tuple(addresses))


def free_ports(count: int) -> List[int]:
  """``count`` localhost ports free at the moment of the call."""
  sockets = [socket.socket() for _ in range(count)]
  try:
    for s in sockets:
      s.bind(("localhost", 0))
    return [s.getsockname()[1] for s in sockets]
  finally:
    for s in sockets:
      s.close()


def local_tf_config(ports: Sequence[int], index: int) -> str:
  """``TF_CONFIG`` of worker ``index`` of a cluster of workers on localhost
  ``ports`` (worker 0 is the chief)."""
  return json.dumps({"cluster": {"worker": [f"localhost:{p}" for p in ports]},
                     "task": {"type": "worker", "index": index}})


def write_dir(model_dir: str, role: Optional[Role]) -> str:
  """Where this worker writes: ``model_dir`` for the chief (or a single
  worker), a new temporary folder for any other worker."""
  if role is None or role.is_chief:
    return model_dir
  return tempfile.mkdtemp(prefix=f"bert_mtl_ner_{role.task_type}"
                                 f"{role.task_id}_")


def remove_write_dir(model_dir: str, folder: str) -> None:
  """Deletes a non-chief worker's temporary folder (never ``model_dir``)."""
  if os.path.abspath(folder) != os.path.abspath(model_dir):
    shutil.rmtree(folder, ignore_errors=True)


def lost_peer_error(role: Role, model_dir: str, err: Exception
                    ) -> BertMtlNerError:
  """The one-line error of a worker whose peer went away during training."""
  latest = tf.train.latest_checkpoint(os.path.join(model_dir, "checkpoints"))
  text = str(err)
  found = re.search(r"aborted by: ([^\n]+)", text)
  first = found.group(1) if found else (text.strip().splitlines() or [""])[0]
  return BertMtlNerError(
      f"multi-worker training ({role.name}): a peer stopped answering "
      f"({type(err).__name__}: {first[:160]}); start every worker again with "
      f"the same flags: they resume from the chief's last checkpoint ("
      f"{latest or 'none yet: from the start'})")


class StartupWatchdog:
  """Stops this process if the cluster is not up within ``timeout`` seconds.

  A child process (``bert_mtl_ner.training.watchdog``) waits on a pipe; leaving
  the ``with`` block closes it. If the time runs out first, the child prints
  one ``error:`` line naming the peers whose address does not answer and kills
  this process, whose start-up is blocked inside TensorFlow.

  Args:
    role: this worker's role.
    timeout: seconds; 0 waits forever.
  """

  def __init__(self, role: Role, timeout: float):
    self.role = role
    self.timeout = timeout
    self._child: Optional[subprocess.Popen] = None

  def __enter__(self) -> "StartupWatchdog":
    if self.timeout > 0 and self.role.peers:
      self._child = subprocess.Popen(
          [sys.executable, "-m", "bert_mtl_ner.training.watchdog",
           str(os.getpid()), str(self.timeout), self.role.name,
           json.dumps(self.role.peers)],
          stdin=subprocess.PIPE, start_new_session=True)
    return self

  def __exit__(self, *unused) -> None:
    if self._child is not None:
      self._child.stdin.close()  # the cluster is up (or this process failed)
      try:
        self._child.wait(timeout=10)
      except subprocess.TimeoutExpired:
        os.kill(self._child.pid, signal.SIGKILL)
      self._child = None
