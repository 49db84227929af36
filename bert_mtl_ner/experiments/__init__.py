"""The experiment grid that regenerates the paper's Tables 4-6 and our ablations.

``grid`` says which cells exist (dataset x model x ablation) and how each is
scored; ``presets`` says at what size they run (smoke, cpu, paper); ``runner``
trains and scores every cell for every seed, writing one JSON file per run;
``report`` assembles ``REPORT.md`` from those files. ``python -m
bert_mtl_ner.experiments`` (``run_experiments.sh``) drives it.
"""
