"""The ``echoarb`` command line: ``main`` parses, each subcommand module runs one group."""

from echoarb.cli.main import main

__all__ = ["main"]
