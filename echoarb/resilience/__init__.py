"""Generic resilience pieces for network clients: backoff, circuit breaker, rate limit."""
