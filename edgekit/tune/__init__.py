"""``edgekit tune``: a multi-objective search over the optimize stages, trials run by an executor."""
