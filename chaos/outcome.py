"""What one chaos run gives the report: plain data (no stack needed to make or read one)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from chaos.checker import Verdict
from chaos.config import ChaosConfig
from chaos.history import History
from chaos.population import Population
from chaos.progress import Drained


@dataclass
class Outcome:
    config: ChaosConfig
    population: Population
    history: History
    verdict: Verdict
    drained: Drained
    network_faults: Counter[str]
    server_faults: Counter[str]
    server_fault_places: Counter[str]
    dead_letters: dict[str, int]
    seconds: dict[str, float]  # each phase and each drain step

    @property
    def queues_left(self) -> dict[str, int]:
        return self.drained.queues_left
