"""The HTTP service of ``python -m bert_mtl_ner.serve``: dynamic batching
(``batching``), request formats and limits (``api``), Prometheus metrics
(``metrics``), the Starlette app (``app``) and its page (``page.html``)."""
