"""Packaging for bert_mtl_ner: pins the TensorFlow 2.15 stack (see DEVELOPERS.md)."""
from setuptools import find_packages, setup

INSTALL_REQUIRES = [
    "tensorflow==2.15.1",
    "tf-keras==2.15.1",
    "tensorflow-addons==0.23.0",
    "transformers==4.57.6",
    "seqeval==1.2.2",
    "absl-py",
    "scipy",
    "jieba==0.42.1",
    "snownlp==0.12.3",
    "numpy<2",
    "tqdm",
    "matplotlib",
    # The HTTP service (python -m bert_mtl_ner.serve).
    "starlette==1.10.0",
    "uvicorn==0.54.0",
    "httptools==0.7.1",  # uvicorn's fast HTTP parser
    "uvloop==0.22.1",  # uvicorn's fast event loop
    "prometheus-client==0.26.0",
]

# Console scripts (bert_mtl_ner/console.py): bert-mtl-ner COMMAND, and
# bert-mtl-ner-COMMAND for each command.
COMMANDS = ["train", "evaluate", "predict", "export", "serve", "experiments",
            "data", "calibrate", "select", "active-learning", "pretrain",
            "import-bert", "tag-corpus", "ensemble"]
CONSOLE_SCRIPTS = ["bert-mtl-ner = bert_mtl_ner.console:main"] + [
    f"bert-mtl-ner-{c} = bert_mtl_ner.console:{c.replace('-', '_')}"
    for c in COMMANDS]

setup(
    name="bert_mtl_ner",
    version="0.1.0",
    description=(
        "Multi-task BERT-BiLSTM-AM-CRF for Chinese named entity recognition "
        "(Tang et al., Neural Processing Letters 2022), on TensorFlow 2.15."
    ),
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.11,<3.12",
    packages=find_packages(include=["bert_mtl_ner", "bert_mtl_ner.*"]),
    install_requires=INSTALL_REQUIRES,
    extras_require={
        "gpu": ["tensorflow[and-cuda]==2.15.1"],
        # Bulk tagging (python -m bert_mtl_ner.tag_corpus). 2.61.0 resolves
        # beside TensorFlow 2.15 (protobuf 4, numpy < 2); joblib 1.6 (through
        # seqeval's scikit-learn) wants a cloudpickle newer than Beam's pin.
        "beam": ["apache-beam==2.61.0", "joblib<1.6"],
        # selenium drives Debian's chromium + chromium-driver in the page test.
        # pytest-xdist: run_tests.sh spreads the tests over the cores. Its
        # --dist=loadgroup stops grouping on pytest 9.2 (pytest-xdist#1386:
        # the nodeid it rewrites is no longer read), hence pytest < 9.2.
        # pyflakes: tests/test_lint.py keeps unused imports and names out.
        "test": ["pytest>=8,<9.2", "pytest-xdist>=3.5", "hypothesis>=6",
                 "selenium==4.38.0", "pyflakes>=3.2,<5"],
    },
    # Every file a command needs by default (tests/test_wheel.py).
    package_data={"bert_mtl_ner": ["vocab/chars.txt", "vocab/README.md"],
                  "bert_mtl_ner.experiments": ["paper_tables.json"],
                  # The shipped models (bert_mtl_ner/shipped/NAME/*).
                  "bert_mtl_ner.shipped": ["*/*"],
                  "bert_mtl_ner.server": ["page.html"]},
    entry_points={"console_scripts": CONSOLE_SCRIPTS},
    # package_data alone says what ships: include_package_data=True made
    # current setuptools warn that the data folders (shipped/msra, vocab, ...)
    # are packages it "would ignore", for the same files in the wheel.
)
