"""Load and throughput harness (`make bench`); not part of the test run."""
