"""Packaging; the metadata and dependencies are in setup.cfg.

Only what setup.cfg cannot say is here: the catalogue (processes/) and the diagrams (bpmn/)
stay at the top of the repository and go into the wheel under the engine, as the packages
engine.content.processes and engine.content.bpmn, read with importlib.resources
(engine/content/__init__.py).
"""
from setuptools import find_packages, setup

CONTENT = {"engine.content.processes": "processes", "engine.content.bpmn": "bpmn"}

setup(
    packages=find_packages(include=["engine", "engine.*", "web", "web.*", "timers", "timers.*",
                                    "cli", "cli.*"]) + list(CONTENT),
    package_dir=CONTENT,
)
