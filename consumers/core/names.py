"""Every broker and index name authstream uses, derived from one optional prefix."""

from dataclasses import dataclass


def _delay_label(delay_ms: int) -> str:
    if delay_ms % 60_000 == 0:
        return f"{delay_ms // 60_000}m"
    if delay_ms % 1_000 == 0:
        return f"{delay_ms // 1_000}s"
    return f"{delay_ms}ms"


@dataclass(frozen=True)
class Names:
    prefix: str = ""

    @property
    def exchange(self) -> str:
        """Raw events from publishers, and the stages' findings: the index stage reads it all."""
        return f"{self.prefix}authstream.events"

    @property
    def derived_exchange(self) -> str:
        """What the index stage derives for the other stages (profile.changed, work requests)."""
        return f"{self.prefix}authstream.derived"

    @property
    def base(self) -> str:
        """What every authstream queue and exchange name starts with."""
        return f"{self.prefix}authstream."

    def work_queue(self, stage: str) -> str:
        return f"{self.prefix}authstream.{stage}"

    def retry_queue(self, stage: str, delay_ms: int) -> str:
        return f"{self.work_queue(stage)}.retry.{_delay_label(delay_ms)}"

    def parking_lot(self, stage: str) -> str:
        return f"{self.work_queue(stage)}.parked"

    @property
    def users_alias(self) -> str:
        return f"{self.prefix}authstream-users"

    def users_index(self, generation: int) -> str:
        return f"{self.users_alias}-v{generation}"

    @property
    def events_stream(self) -> str:
        return f"{self.prefix}authstream-events"

    @property
    def enrichment_cache(self) -> str:
        """Enrichment answers by provider and email hash, shared by profiles with that email."""
        return f"{self.prefix}authstream-enrichment"

    @property
    def audit_index(self) -> str:
        """What authstream did to personal data (erasures): when, what, how much."""
        return f"{self.prefix}authstream-audit"

    @property
    def mentions_index(self) -> str:
        """Brand mentions (imported or read from X), stored once by post id, scored."""
        return f"{self.prefix}authstream-mentions"

    @property
    def state_index(self) -> str:
        """Small operational records: call budgets, locks, checkpoints."""
        return f"{self.prefix}authstream-state"

    @property
    def deliveries_index(self) -> str:
        """Which segment events each destination webhook has received (redeliveries skip them)."""
        return f"{self.prefix}authstream-deliveries"

    @property
    def visitors_index(self) -> str:
        """Anonymous visitors: who each turned out to be, and their behaviour held until then."""
        return f"{self.prefix}authstream-visitors"
