"""The process diagrams (BPMN 2.0) that the catalogue's items run.

A package only so that the files ship in the wheel, as ``engine.content.bpmn``.
"""
