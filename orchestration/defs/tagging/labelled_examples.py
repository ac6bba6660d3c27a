"""Labelled example conversations that vote on the SOC major group and train the mode model.

The examples were written for this project (examples/README.md says how); none is taken from
a dataset or from the evaluation files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from orchestration.defs.tagging.records import INTERACTION_MODES

EXAMPLES_FILE = Path(__file__).parent / "examples" / "examples.jsonl"
# Label of examples with no occupational task (greetings, questions about the assistant).
NOT_OCCUPATIONAL = "none"


@dataclass(frozen=True)
class LabelledExample:
    """One written example: the user's turns and the labels a tagger should give it."""

    user_turns: tuple[str, ...]
    task_id: int | None
    onet_soc_code: str | None
    interaction_mode: str

    @property
    def soc_major_group(self) -> str:
        return self.onet_soc_code[:2] if self.onet_soc_code else NOT_OCCUPATIONAL


def load_examples(path: Path = EXAMPLES_FILE) -> list[LabelledExample]:
    """Read the examples file; raise with the line number on an invalid record."""
    examples = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                example = LabelledExample(
                    user_turns=tuple(record["turns"]),
                    task_id=record["onet_task_id"],
                    onet_soc_code=record["onet_soc_code"],
                    interaction_mode=record["interaction_mode"],
                )
            except (json.JSONDecodeError, KeyError, TypeError) as error:
                raise ValueError(f"{path}:{number}: invalid example ({error!r})") from None
            if example.interaction_mode not in INTERACTION_MODES:
                raise ValueError(
                    f"{path}:{number}: unknown interaction mode {example.interaction_mode!r}"
                )
            if not example.user_turns or (example.task_id is None) != (
                example.onet_soc_code is None
            ):
                raise ValueError(f"{path}:{number}: example needs turns and both or no labels")
            examples.append(example)
    if not examples:
        raise ValueError(f"{path}: no examples")
    return examples
