"""``python -m edgekit.agent``: the on-device agent by hand (same as ``edgekit-agent``)."""

import sys

from edgekit.agent.edgekit_agent import main

sys.exit(main())
