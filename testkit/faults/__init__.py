"""The fault suite's own installation and its scenarios (harness.py), shared by tests/faults and bench/faults.py."""
