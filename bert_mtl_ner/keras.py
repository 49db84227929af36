"""The one Keras the project uses: ``tf_keras`` (Keras 2), as transformers' TF models do.

TensorFlow 2.15 bundles Keras 2.15 as ``tf.keras`` too, but transformers builds its
TF models from the separate ``tf_keras`` package; mixing the two breaks weight
tracking, so every module imports Keras from here.
"""

import tf_keras as keras  # pylint: disable=unused-import

__all__ = ["keras"]
