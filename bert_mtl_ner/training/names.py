"""The names a run's flags accept: models, task schedules, learning-rate
schedules, precision policies and distribution strategies.

They live here, without TensorFlow, so that the run config (``run_config``) and
the grid's ``--plan`` and ``--report`` start without importing it. The modules
that implement the names take their tuples from here: ``models``
(``TRAINABLE``, ``USES_BERT``), ``trainer`` (``SCHEDULES``), ``optimization``
(``SCHEDULES``), ``precision`` (``POLICIES``) and ``distribution``
(``STRATEGIES``).
"""

# What `train` builds and trains (an ensemble is assembled, never trained).
MODELS = ("bilstm_crf", "bert_crf", "bert_bilstm_crf", "mtl")
# The models with a BERT encoder.
USES_BERT = ("bert_crf", "bert_bilstm_crf", "mtl")
# How a multi-task run picks the task of each batch.
TASK_SCHEDULES = ("proportional", "temperature", "round_robin")
# The learning rate after warmup.
LR_SCHEDULES = ("linear", "constant")
PRECISION_POLICIES = ("none", "mixed_float16", "mixed_bfloat16")
STRATEGIES = ("one_device", "mirrored", "multi_worker_mirrored", "tpu")
