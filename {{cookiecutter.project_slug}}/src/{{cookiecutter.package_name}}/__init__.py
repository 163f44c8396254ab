"""The service package: see README.md for how to run and configure it."""
