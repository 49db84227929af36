"""Active learning: which sentences to annotate next (``selection``), and a
simulation that shows whether it pays (``simulation``, ``report``)."""
