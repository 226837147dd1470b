"""``--custom-objects FILE.py`` / ``--import MODULE``: the user's Keras classes for commands that load models.

Only click and the standard library at import time, so ``--help`` stays fast; the user's
code is imported (and its classes registered with Keras) before the command body runs.
"""

from __future__ import annotations

import functools
from typing import Callable

import click


def user_code_options(command: Callable) -> Callable:
    """Add ``--custom-objects`` and ``--import`` (both repeatable) to a click command."""

    @functools.wraps(command)
    def run(*args, custom_objects: tuple[str, ...] = (), import_modules: tuple[str, ...] = (), **kwargs):
        if custom_objects or import_modules:
            from edgekit.convert.user_code import load_user_code

            load_user_code([*custom_objects, *import_modules])
        return command(*args, **kwargs)

    run = click.option("--import", "import_modules", multiple=True, metavar="MODULE",
                       help="Import this module (dotted name) for the model's custom Keras classes (repeatable).")(run)
    return click.option("--custom-objects", "custom_objects", multiple=True, metavar="FILE.py",
                        type=click.Path(dir_okay=False),
                        help="Python file defining the model's custom Keras layers/losses/models; every Keras "
                             "class it defines is registered before the model is loaded (repeatable).")(run)
