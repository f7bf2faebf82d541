"""Running a server: build the model once from its spec, wrap it in the app, serve it with uvicorn."""

from __future__ import annotations

from ovmer.inference.model_table import build_answer_model
from ovmer.serve.app import create_app
from ovmer.serve.settings import ServeSettings


def run_server(settings: ServeSettings) -> None:
    """Serve until interrupted (Ctrl-C stops uvicorn, which closes the model through the app's lifespan)."""
    import uvicorn

    model = build_answer_model(settings.model)
    app = create_app(settings, model)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="info", server_header=False)
