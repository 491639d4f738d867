"""Helpers of the benchmark scripts in bench/ (never part of the test suite)."""
