"""``ovmer serve``: one model behind an HTTP API and a web page (docs/serve.md).

Modules, one job each:

* :mod:`~ovmer.serve.settings` — :class:`ServeSettings`, every limit and option of a server;
* :mod:`~ovmer.serve.app` — :func:`create_app`, the FastAPI app (routes, page, lifespan);
* :mod:`~ovmer.serve.batching` — :class:`MicroBatcher`, the bounded queue in front of ``answer_batch``;
* :mod:`~ovmer.serve.uploads` — private per-request folders, size-capped saving, content sniffing;
* :mod:`~ovmer.serve.guards` — API key, request-size limit and security headers;
* :mod:`~ovmer.serve.errors` — every error as ``{"error": {"code", "message"}}``;
* :mod:`~ovmer.serve.views` — the sampled frames and face crops as the model sees them;
* :mod:`~ovmer.serve.wheel` — OV labels placed on emotion wheel 1 (the page's chart);
* :mod:`~ovmer.serve.scoring` — ``/v1/score``: the object of ``ovmer score --json``;
* :mod:`~ovmer.serve.review` — the Review tab's queue and decisions (``--corpus``, over :mod:`ovmer.results.review`);
* :mod:`~ovmer.serve.describe` — ``/v1/describe``: save, queue, answer, clean up;
* :mod:`~ovmer.serve.state` — what a server holds for its lifetime (model, queue, wheel maps);
* :mod:`~ovmer.serve.server` — building the model and running uvicorn.
"""

from __future__ import annotations

from ovmer.serve.settings import ServeSettings

__all__ = ["ServeSettings"]
