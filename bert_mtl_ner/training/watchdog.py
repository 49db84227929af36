"""The start-up watchdog of a multi-worker run (see ``cluster.StartupWatchdog``).

  python -m bert_mtl_ner.training.watchdog PID TIMEOUT SELF_NAME PEERS_JSON

Waits until its standard input closes (the worker is up, or gone) or TIMEOUT
seconds pass. On timeout it prints one ``error:`` line on standard error naming
every peer whose address refuses a TCP connection, and kills PID. It imports
nothing heavy, so it starts in a fraction of a second.
"""

import json
import os
import select
import signal
import socket
import sys
from typing import List, Sequence, Tuple


def reachable(address: str, timeout: float = 2.0) -> bool:
  """Whether ``host:port`` accepts a TCP connection."""
  host, _, port = address.rpartition(":")
  try:
    with socket.create_connection((host.strip("[]"), int(port)), timeout):
      return True
  except OSError:
    return False


def message(name: str, timeout: float,
            peers: Sequence[Tuple[str, str]]) -> str:
  """The one line that says which peers did not come up."""
  down: List[str] = [f"{peer} at {address}" for peer, address in peers
                     if not reachable(address)]
  what = (f"unreachable: {', '.join(down)}" if down else
          "every peer's address answers, but not every worker joined")
  return (f"error: multi-worker training ({name}): the cluster did not come up "
          f"within {timeout:g} s (--worker_timeout); {what}. Start every "
          "worker that TF_CONFIG names, with the same flags.")


def main(argv: Sequence[str]) -> int:
  pid, timeout, name, peers = (int(argv[1]), float(argv[2]), argv[3],
                               [tuple(p) for p in json.loads(argv[4])])
  ready, _, _ = select.select([sys.stdin], [], [], timeout)
  if ready:  # closed: the worker is up, or it has ended
    return 0
  print(message(name, timeout, peers), file=sys.stderr, flush=True)
  try:
    os.kill(pid, signal.SIGKILL)  # TensorFlow holds the interpreter; no exit
  except ProcessLookupError:
    pass
  return 1


if __name__ == "__main__":
  sys.exit(main(sys.argv))
