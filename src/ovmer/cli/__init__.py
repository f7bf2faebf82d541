"""The ``ovmer`` command line: thin Typer wrappers over the Python API, one module per concern."""
