"""What every third-party API client shares: one pooled HTTP client with its errors translated,
a rate limiter, a call budget, and a circuit breaker."""
