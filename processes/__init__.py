"""The catalogue of approval items, one YAML file each (docs/catalogue.md).

A package only so that the files ship in the wheel, as ``engine.content.processes``.
"""
