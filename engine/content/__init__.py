"""What the product ships besides code: the catalogue of approval items and their diagrams.

The repository keeps them at its top, ``processes/`` (one YAML file per item) and ``bpmn/``;
the wheel carries them as the packages ``engine.content.processes`` and
``engine.content.bpmn`` (``package_dir`` in setup.py), and they are always read through
``importlib.resources``, so the same code works from a wheel, an editable install and a
checkout. In a checkout (setup.cfg beside ``engine/``) this package also looks in the
repository root, where the two folders are.
"""
from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

_CHECKOUT = Path(__file__).resolve().parents[2]
if (_CHECKOUT / "setup.cfg").is_file() and (_CHECKOUT / "processes" / "__init__.py").is_file():
    __path__.append(str(_CHECKOUT))  # noqa: F821 - a package's own __path__


def catalogue() -> Traversable:
    """The item files shipped with the product (``processes/*.yaml``)."""
    return files(f"{__name__}.processes")


def diagrams() -> Traversable:
    """The BPMN diagrams the items name (``bpmn/*.bpmn``)."""
    return files(f"{__name__}.bpmn")
