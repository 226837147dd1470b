"""The on-device benchmark agent (``edgekit_agent.py``) and the host side that runs it."""
