"""Token prices and the cost of one call from its usage."""

from __future__ import annotations

from dataclasses import dataclass, field

MILLION = 1_000_000


@dataclass(frozen=True)
class Usage:
    """Token counts of one call, as the API reports them on message.usage."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0

    @classmethod
    def from_response(cls, response: dict) -> Usage:
        usage = response.get("usage") or {}
        return cls(
            input_tokens=int(usage.get("input_tokens") or 0),
            output_tokens=int(usage.get("output_tokens") or 0),
            cache_creation_input_tokens=int(usage.get("cache_creation_input_tokens") or 0),
            cache_read_input_tokens=int(usage.get("cache_read_input_tokens") or 0),
        )


@dataclass(frozen=True)
class Prices:
    """US dollars per million tokens; batch_discount is the share taken off in batches."""

    input: float
    output: float
    cache_write: float
    cache_read: float
    batch_discount: float = 0.5

    def cost_usd(self, usage: Usage, *, batch: bool = False) -> float:
        """Return the billed cost of one call."""
        dollars = (
            usage.input_tokens * self.input
            + usage.output_tokens * self.output
            + usage.cache_creation_input_tokens * self.cache_write
            + usage.cache_read_input_tokens * self.cache_read
        ) / MILLION
        return dollars * (1 - self.batch_discount) if batch else dollars


@dataclass
class UsageTotals:
    """Tokens, calls and cost summed over a run, for the asset's metadata."""

    calls: int = 0
    batch_calls: int = 0
    cache_hits: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    cost_usd: float = 0.0
    extra: dict[str, int] = field(default_factory=dict)

    def add(self, usage: Usage, cost: float, *, batch: bool) -> None:
        self.calls += 1
        self.batch_calls += int(batch)
        self.input_tokens += usage.input_tokens
        self.output_tokens += usage.output_tokens
        self.cache_creation_input_tokens += usage.cache_creation_input_tokens
        self.cache_read_input_tokens += usage.cache_read_input_tokens
        self.cost_usd += cost

    def count(self, name: str, amount: int = 1) -> None:
        self.extra[name] = self.extra.get(name, 0) + amount

    def as_metadata(self) -> dict[str, float | int]:
        return {
            "llm_calls": self.calls,
            "llm_batch_calls": self.batch_calls,
            "llm_cache_hits": self.cache_hits,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cache_creation_input_tokens": self.cache_creation_input_tokens,
            "cache_read_input_tokens": self.cache_read_input_tokens,
            "cost_usd": round(self.cost_usd, 6),
            **self.extra,
        }
