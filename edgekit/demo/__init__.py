"""``edgekit demo``'s use case: the whole job on the shipped digits data (:func:`run_demo`)."""

from edgekit.demo.run import DemoResult, run_demo
from edgekit.demo.table import render_table

__all__ = ["DemoResult", "render_table", "run_demo"]
