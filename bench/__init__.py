"""EchoArb benchmarks (``make bench``). Not tests: nothing here asserts on timings."""
