"""Images for TensorBoard: the CRF transition matrix as a labelled heatmap."""

import io
from typing import Optional, Sequence

import numpy as np


def transition_heatmap(transitions: np.ndarray,
                       labels: Optional[Sequence[str]] = None,
                       title: str = "CRF transitions (from row to column)"
                       ) -> np.ndarray:
  """An RGBA image ``[1, height, width, 4]`` (uint8) of ``transitions`` as a
  heatmap: label names on both axes (indices without ``labels``), a diverging
  colour scale centred on 0 with its colour bar.

  Args:
    transitions: ``[num_tags, num_tags]``, score of moving from row to column.
    labels: the tag names, in the model's order.
    title: the figure's title.
  """
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use("Agg")
  from matplotlib import pyplot as plt  # pylint: disable=g-import-not-at-top
  transitions = np.asarray(transitions, np.float32)
  size = transitions.shape[0]
  names = list(labels) if labels is not None else [str(i) for i in range(size)]
  inches = max(4.0, 0.32 * size + 2.0)
  figure, axes = plt.subplots(figsize=(inches + 1.2, inches), dpi=100)
  bound = float(np.max(np.abs(transitions))) or 1.0
  shown = axes.imshow(transitions, cmap="RdBu_r", vmin=-bound, vmax=bound)
  axes.set_xticks(range(size), names, rotation=90, fontsize=8)
  axes.set_yticks(range(size), names, fontsize=8)
  axes.set_xlabel("to tag")
  axes.set_ylabel("from tag")
  axes.set_title(title, fontsize=10)
  figure.colorbar(shown, ax=axes, fraction=0.046, pad=0.04)
  figure.tight_layout()
  buffer = io.BytesIO()
  figure.savefig(buffer, format="png")
  plt.close(figure)
  from matplotlib import image as image_lib  # pylint: disable=g-import-not-at-top
  buffer.seek(0)
  rgba = image_lib.imread(buffer, format="png")
  return (rgba[None] * 255).astype(np.uint8)
