"""`make eval`: score the offline tagger against labelled conversations, with baselines.

Rows: the offline tagger as configured by default (local embeddings, examples and the usage
prior), the same without the usage prior, its TF-IDF fallback, plain TF-IDF retrieval and
the majority answer. The embedding model is loaded once and serves every row.

The labels file is JSON Lines; each record has `turns` ({role, text}) and `labels` with
`onet_task_id`, `onet_soc_code`, `soc_major_group`, `interaction_mode`, `collaboration` and
`confidence`. A label with no task counts as not occupational.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from orchestration import settings
from orchestration.defs.conversations.scrub import scrub_text
from orchestration.defs.reference import catalog
from orchestration.defs.reference.load import TABLE_LOADS, load_table
from orchestration.defs.reference.resource import ReferenceData
from orchestration.defs.tagging import embedding
from orchestration.defs.tagging.offline import ENCODERS, OfflineTagger, TaskStatement
from orchestration.defs.tagging.records import COLLABORATION, ConversationText
from orchestration.defs.tagging.resource import read_usage_shares

DEFAULT_LABELS = settings.PROJECT_ROOT.parent / "shared" / "eval" / "dev.jsonl"


@dataclass(frozen=True)
class Prediction:
    """One tagger's output for one conversation, at every level scored."""

    task_id: int | None
    onet_soc_code: str | None
    soc_major_group: str | None
    interaction_mode: str
    is_occupational: bool

    @property
    def collaboration(self) -> str:
        return COLLABORATION[self.interaction_mode]


def read_labels(path: Path) -> list[dict]:
    """Return the labelled records; raise with the line number on a malformed one."""
    records = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                record["labels"]["interaction_mode"]
            except (json.JSONDecodeError, KeyError, TypeError) as error:
                raise ValueError(f"{path}:{number}: invalid labelled record ({error})") from None
            records.append(record)
    if not records:
        raise ValueError(f"{path}: no labelled records")
    return records


def load_usage_shares(reference: ReferenceData) -> dict[str, float]:
    """Return the published usage share per lower-cased task statement."""
    fetched = reference.fetch(catalog.AEI_TASK_MAPPINGS)
    connection = duckdb.connect()
    try:
        load_table(connection, TABLE_LOADS["aei_task_mappings"], fetched.path)
        return read_usage_shares(connection)
    finally:
        connection.close()


def load_statements(reference: ReferenceData) -> list[tuple[int, str, str, str]]:
    """Return (task id, statement, occupation title, O*NET-SOC code) of the release's tasks."""
    fetched = reference.fetch(catalog.AEI_TASK_STATEMENTS)
    connection = duckdb.connect()
    try:
        load_table(connection, TABLE_LOADS["onet_task_statements"], fetched.path)
        return connection.execute(
            """
            select task_id, task_statement, occupation_title, onet_soc_code
            from raw.onet_task_statements
            """
        ).fetchall()
    finally:
        connection.close()


def _user_turns(record: dict) -> tuple[str, ...]:
    return tuple(scrub_text(turn["text"]) for turn in record["turns"] if turn.get("role") == "user")


def offline_predictions(
    records: list[dict],
    statements: Sequence[tuple],
    *,
    encoder: str = "tfidf",
    usage_shares: dict[str, float] | None = None,
    cascade_share: float | None = None,
) -> list[Prediction]:
    """Tag every record with the offline backend, as the pipeline does."""
    codes = {task_id: code for task_id, _, _, code in statements}
    tagger = OfflineTagger(
        [TaskStatement(task_id, text, title, code) for task_id, text, title, code in statements],
        encoder=encoder,
        usage_shares=usage_shares,
        cache_dir=settings.embedding_cache_dir(),
        **({} if cascade_share is None else {"cascade_share": cascade_share}),
    )
    conversations = [
        ConversationText("eval", str(index), _user_turns(record), ())
        for index, record in enumerate(records)
    ]
    return [
        _prediction(tag.task_id, codes, tag.interaction_mode) for tag in tagger.tag(conversations)
    ]


def tfidf_baseline(records: list[dict], statements: Sequence[tuple]) -> list[Prediction]:
    """Predict with plain TF-IDF of the user's turns against the statements, always a task.

    It has no mode rules, so it predicts learning, the most common mode of real traffic.
    """
    codes = {task_id: code for task_id, _, _, code in statements}
    task_ids = np.array([task_id for task_id, *_ in statements])
    vectorizer = TfidfVectorizer(stop_words="english")
    matrix = vectorizer.fit_transform([text for _, text, _, _ in statements])
    queries = vectorizer.transform([" ".join(_user_turns(record)) for record in records])
    best = np.asarray((queries @ matrix.T).argmax(axis=1)).ravel()
    return [_prediction(int(task_ids[column]), codes, "learning") for column in best]


def majority_baseline(records: list[dict]) -> list[Prediction]:
    """Predict the most common label at each level for every conversation."""
    labels = [record["labels"] for record in records]

    def most_common(field: str):
        return Counter(label[field] for label in labels).most_common(1)[0][0]

    occupational = Counter(label["onet_task_id"] is not None for label in labels)
    return [
        Prediction(
            most_common("onet_task_id"),
            most_common("onet_soc_code"),
            most_common("soc_major_group"),
            most_common("interaction_mode"),
            occupational.most_common(1)[0][0],
        )
    ] * len(records)


def _prediction(task_id: int | None, codes: dict[int, str], mode: str) -> Prediction:
    code = codes.get(task_id) if task_id is not None else None
    return Prediction(task_id, code, code[:2] if code else None, mode, task_id is not None)


def _accuracy(pairs: list[tuple[object, object]]) -> float | None:
    return sum(expected == found for expected, found in pairs) / len(pairs) if pairs else None


def score(records: list[dict], predictions: list[Prediction]) -> dict[str, object]:
    """Return accuracies (fractions) overall and on high- and medium-confidence labels."""

    def level(subset: Callable[[dict], bool]) -> dict[str, float | None]:
        chosen = [(r["labels"], p) for r, p in zip(records, predictions) if subset(r)]
        sides = {}
        for side in ("automation", "augmentation"):
            relevant = [(label, p) for label, p in chosen if label["collaboration"] == side]
            sides[f"{side}_recall"] = _accuracy([(side, p.collaboration) for _, p in relevant])
        return {
            "count": len(chosen),
            "occupational_accuracy": _accuracy(
                [(label["onet_task_id"] is not None, p.is_occupational) for label, p in chosen]
            ),
            "soc_major_group_accuracy": _accuracy(
                [(label["soc_major_group"], p.soc_major_group) for label, p in chosen]
            ),
            "occupation_accuracy": _accuracy(
                [(label["onet_soc_code"], p.onet_soc_code) for label, p in chosen]
            ),
            "task_accuracy": _accuracy([(label["onet_task_id"], p.task_id) for label, p in chosen]),
            "interaction_mode_accuracy": _accuracy(
                [(label["interaction_mode"], p.interaction_mode) for label, p in chosen]
            ),
            "collaboration_accuracy": _accuracy(
                [(label["collaboration"], p.collaboration) for label, p in chosen]
            ),
            **sides,
        }

    result = level(lambda record: True)
    result["high_medium_confidence"] = level(
        lambda record: record["labels"].get("confidence") in ("high", "medium")
    )
    confusion = Counter(
        (r["labels"]["soc_major_group"] or "none", p.soc_major_group or "none")
        for r, p in zip(records, predictions)
    )
    result["soc_major_group_confusion"] = {
        f"{expected}->{found}": count for (expected, found), count in sorted(confusion.items())
    }
    return result


def _format(value: object) -> str:
    return "-" if value is None else f"{100 * float(value):5.1f}%"


def print_table(results: dict[str, dict]) -> None:
    """Print one line per metric with a column per tagger."""
    metrics = [
        "occupational_accuracy",
        "soc_major_group_accuracy",
        "occupation_accuracy",
        "task_accuracy",
        "interaction_mode_accuracy",
        "collaboration_accuracy",
        "automation_recall",
        "augmentation_recall",
    ]
    names = list(results)
    print(f"{'metric':<28}" + "".join(f"{name:>20}" for name in names))
    for scope in (None, "high_medium_confidence"):
        if scope:
            print(f"-- {scope.replace('_', ' ')} labels")
        for metric in metrics:
            row = [
                results[name][scope][metric] if scope else results[name][metric] for name in names
            ]
            print(f"{metric:<28}" + "".join(f"{_format(value):>20}" for value in row))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=Path, default=DEFAULT_LABELS, help="labelled JSONL file")
    parser.add_argument(
        "--encoder",
        choices=ENCODERS,
        default=None,
        help="offline encoder to score (default: TAGGING_ENCODER, else auto, the pipeline's)",
    )
    arguments = parser.parse_args(argv)
    if not arguments.labels.is_file():
        parser.error(f"labels file {arguments.labels} not found; pass LABELS=path/to/labels.jsonl")

    problem = settings.offline_tagging_problem()
    if problem:
        parser.error(problem)
    records = read_labels(arguments.labels)
    reference = ReferenceData()
    statements = load_statements(reference)
    shares = load_usage_shares(reference)
    encoder = arguments.encoder or settings.tagging_encoder()
    share = settings.tagging_cascade_share()
    results = {}
    if encoder != "tfidf" and embedding.available():
        print(f"scoring the offline tagger with encoder {encoder}", flush=True)
        results["offline"] = score(
            records,
            offline_predictions(
                records, statements, encoder=encoder, usage_shares=shares, cascade_share=share
            ),
        )
        results["offline_no_prior"] = score(
            records,
            offline_predictions(records, statements, encoder=encoder, cascade_share=share),
        )
        if encoder != "embedding":
            results["embedding_only"] = score(
                records,
                offline_predictions(records, statements, encoder="embedding", usage_shares=shares),
            )
    else:
        print(
            f"scoring the TF-IDF fallback only (encoder {encoder}, "
            f"{embedding.MODEL_PACKAGE} installed: {embedding.available()})"
        )
    results["tfidf_fallback"] = score(records, offline_predictions(records, statements))
    results.setdefault("offline", results["tfidf_fallback"])
    results["tfidf_baseline"] = score(records, tfidf_baseline(records, statements))
    results["majority_baseline"] = score(records, majority_baseline(records))
    print(f"{len(records)} labelled conversations from {arguments.labels}")
    print_table(results)
    print("SOC major group confusion (label->offline):")
    for pair, count in results["offline"]["soc_major_group_confusion"].items():
        print(f"  {pair}: {count}")

    output = settings.data_dir() / "eval" / f"eval-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    payload = {"labels": str(arguments.labels), "count": len(records), **results["offline"]}
    payload["embedding_model"] = embedding.MODEL_NAME if "offline_no_prior" in results else None
    payload["encoder"] = encoder if "offline_no_prior" in results else "tfidf"
    payload["cascade_share"] = share
    payload["variants"] = {
        name: results[name]
        for name in ("offline_no_prior", "embedding_only", "tfidf_fallback")
        if name in results
    }
    payload["baselines"] = {name: results[name] for name in ("tfidf_baseline", "majority_baseline")}
    output.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    print(output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
