"""Helpers shared by the test tiers (tests/ is on pytest's pythonpath): support, trained models, zoos."""
