"""edgekit: optimize, convert, inspect, deploy and benchmark TFLite models on edge devices."""

__version__ = "0.1.0"
