"""``python -m ovmer`` runs the command line."""

from ovmer.cli.main import app

app()
