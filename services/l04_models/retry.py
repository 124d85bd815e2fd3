"""Retries of retryable provider errors: exponential backoff with full jitter, and the
provider's retry-after when it gives one."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 2
    base_seconds: float = 0.25
    max_seconds: float = 8.0

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float | None:
        """Seconds to wait before retry number ``attempt`` (1-based); None: do not retry
        (out of attempts, or the provider asks for a longer wait than is worth it)."""
        if attempt > self.max_retries:
            return None
        if retry_after is not None:
            if retry_after > self.max_seconds:
                return None  # better served by the next provider in the chain
            # The provider said when: a little jitter so waiting clients do not stampede.
            return retry_after + rng.uniform(0, self.base_seconds / 4)
        ceiling = min(self.max_seconds, self.base_seconds * 2 ** (attempt - 1))
        return rng.uniform(0, ceiling)
