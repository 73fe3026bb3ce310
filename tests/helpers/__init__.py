"""Builders shared by the tests: temporary estates and in-process CLI runs."""
