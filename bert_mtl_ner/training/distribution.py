"""Devices and machines through ``tf.distribute``, and splitting a batch over them.

``--distribution_strategy``:

* ``one_device`` (default): TensorFlow's default strategy: one replica, on the
  first GPU if there is one, else on the CPU;
* ``mirrored``: every local GPU (or every logical CPU device), one replica each;
* ``multi_worker_mirrored``: several machines, each described by ``TF_CONFIG``
  (see ``cluster`` and docs/distributed.md); without ``TF_CONFIG`` it runs as
  one worker and says so;
* ``tpu``: a Cloud TPU named by ``--tpu`` (an address or a name).

The training loop draws its batches in Python (one task per step): every worker
draws the same global batch (same seed, same order), the batch is cut into one
slice per replica of the whole cluster (``shard``), and each replica's loss is
its slice's weighted sum divided by the whole batch's size: summed over
replicas, the gradients are those of the single-device mean.
"""

import sys
from typing import Dict, Optional

import tensorflow as tf

from bert_mtl_ner.errors import UsageError
from bert_mtl_ner.training import cluster
from bert_mtl_ner.training import names

STRATEGIES = names.STRATEGIES


def make_strategy(name: str, tpu: Optional[str] = None,
                  worker_timeout: float = 600.0) -> tf.distribute.Strategy:
  """The ``tf.distribute`` strategy called ``name`` (see the module docstring).

  Args:
    name: one of ``STRATEGIES``.
    tpu: the TPU's name or address, for ``tpu``.
    worker_timeout: ``multi_worker_mirrored``: seconds to wait for every
      worker of ``TF_CONFIG`` to come up (0: forever); then the process stops
      with one line naming the unreachable addresses.

  Raises:
    UsageError: an unknown name, a bad ``TF_CONFIG``, or ``tpu`` without a
      reachable TPU.
  """
  if name == "one_device":
    return tf.distribute.get_strategy()
  if name == "mirrored":
    gpus = tf.config.list_logical_devices("GPU")
    devices = [d.name for d in gpus or tf.config.list_logical_devices("CPU")]
    return tf.distribute.MirroredStrategy(
        devices, cross_device_ops=None if gpus else
        tf.distribute.ReductionToOneDevice())
  if name == "multi_worker_mirrored":
    return _multi_worker(worker_timeout)
  if name == "tpu":
    try:
      resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu or "")
      tf.config.experimental_connect_to_cluster(resolver)
      tf.tpu.experimental.initialize_tpu_system(resolver)
    except (ValueError, tf.errors.OpError) as err:
      raise UsageError(f"--distribution_strategy=tpu: no TPU found ({err}); "
                       "give --tpu=NAME_OR_ADDRESS") from None
    return tf.distribute.TPUStrategy(resolver)
  raise UsageError(f"unknown --distribution_strategy={name!r}; known: "
                   f"{', '.join(STRATEGIES)}")


def _multi_worker(timeout: float) -> tf.distribute.Strategy:
  role = cluster.read_tf_config()
  if role is None:
    print("note: TF_CONFIG is not set, so --distribution_strategy="
          "multi_worker_mirrored runs as one worker", file=sys.stderr)
    return tf.distribute.MultiWorkerMirroredStrategy()
  with cluster.StartupWatchdog(role, timeout):
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    # A first collective: every worker has joined when it returns.
    strategy.reduce(tf.distribute.ReduceOp.SUM,
                    strategy.run(lambda: tf.constant(1.0)), axis=None)
  return strategy


def shard(batch: Dict[str, tf.Tensor], index: int, count: int
          ) -> Dict[str, tf.Tensor]:
  """Slice ``index`` of ``count`` near-equal slices of every tensor's rows."""
  size = tf.shape(batch["input_ids"])[0]
  start = (size * index) // count
  end = (size * (index + 1)) // count
  return {k: v[start:end] for k, v in batch.items()}


def distribute(strategy: tf.distribute.Strategy, batch: Dict[str, tf.Tensor]):
  """The batch as one slice per replica of ``strategy``."""
  count = strategy.num_replicas_in_sync
  return strategy.experimental_distribute_values_from_function(
      lambda context: shard(batch, context.replica_id_in_sync_group, count))
