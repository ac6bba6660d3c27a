"""Official sources of the reference files, with checksums where the bytes are known."""

from __future__ import annotations

from dataclasses import dataclass

from orchestration.defs.reference.fetch import RemoteFile

# The Economic Index release of 10 Feb 2025 on Hugging Face (Anthropic, data under CC BY).
AEI_2025_02_URL = (
    "https://huggingface.co/datasets/Anthropic/EconomicIndex/resolve/main/release_2025_02_10"
)
# O*NET 29.3 database in text form (National Center for O*NET Development, CC BY 4.0).
ONET_29_3_URL = "https://www.onetcenter.org/dl_files/database/db_29_3_text"
# hh-rlhf at the commit whose harmless-base test split is stored as a real file, not an LFS
# pointer (Anthropic, MIT).
HH_RLHF_COMMIT = "354e5c3cb8960630860dd5774a6ac2a58313bf4d"
HH_RLHF_GITHUB_URL = f"https://raw.githubusercontent.com/anthropics/hh-rlhf/{HH_RLHF_COMMIT}"
HH_RLHF_HF_URL = "https://huggingface.co/datasets/Anthropic/hh-rlhf/resolve/main"


def _aei(name: str, sha256: str | None) -> RemoteFile:
    return RemoteFile(
        key=name,
        url=f"{AEI_2025_02_URL}/{name}",
        mirror_path=f"aei_2025_02/{name}",
        sha256=sha256,
        filename=f"aei_2025_02/{name}",
    )


# Checksums are given only for the files whose mirror copy is known to match the publisher's
# bytes; wage_data.csv and bls_employment_may_2023.csv are loaded unverified.
AEI_TASK_MAPPINGS = _aei(
    "onet_task_mappings.csv",
    "8de89c99f762146c9e46b2202c3501e2a14f11c5b44c61c8007021127b6c676e",
)
AEI_TASK_STATEMENTS = _aei(
    "onet_task_statements.csv",
    "82e4c418dc08475ef1263ad1e8c66ffa3357291370cd35ee1065ecea590597ec",
)
AEI_SOC_STRUCTURE = _aei(
    "SOC_Structure.csv",
    "05eb5e689fb471b7a66962b57bba6666dee2c3e6a6854f0f84faf423af68dd17",
)
AEI_INTERACTION_MODES = _aei(
    "automation_vs_augmentation.csv",
    "d1e264882b17618db4f4a00b6f87f48134222bc5c15eefb3d46aae9519e89d11",
)
AEI_BLS_EMPLOYMENT = _aei("bls_employment_may_2023.csv", None)
AEI_WAGES = _aei("wage_data.csv", None)

ONET_29_3_TASK_STATEMENTS = RemoteFile(
    key="onet_29_3_task_statements",
    url=f"{ONET_29_3_URL}/Task%20Statements.txt",
    mirror_path="onet/Task Statements.txt",
    sha256=None,
    filename="onet_29_3/Task Statements.txt",
)


def _onet_29_3(key: str, name: str, mirror_name: str | None = None) -> RemoteFile:
    """Describe an O*NET 29.3 text file; no checksum, since no publisher's digest is known."""
    return RemoteFile(
        key=key,
        url=f"{ONET_29_3_URL}/{name.replace(' ', '%20')}",
        mirror_path=f"onet/{mirror_name or name}",
        sha256=None,
        filename=f"onet_29_3/{name}",
    )


# The publisher's file is over 4 MB of plain text, so a mirror may keep it gzipped. DuckDB's
# CSV reader opens both forms by their file name.
ONET_29_3_TASKS_TO_DWAS = _onet_29_3(
    "onet_29_3_tasks_to_dwas", "Tasks to DWAs.txt", mirror_name="Tasks to DWAs.txt.gz"
)
ONET_29_3_DWA_REFERENCE = _onet_29_3("onet_29_3_dwa_reference", "DWA Reference.txt")
ONET_29_3_IWA_REFERENCE = _onet_29_3("onet_29_3_iwa_reference", "IWA Reference.txt")
ONET_29_3_CONTENT_MODEL = _onet_29_3(
    "onet_29_3_content_model_reference", "Content Model Reference.txt"
)


@dataclass(frozen=True)
class ConversationFile:
    """A public conversation sample: where to get it and how to name its records."""

    remote: RemoteFile
    source: str
    id_prefix: str


def _conversation_file(
    key: str, path: str, url: str, sha256: str | None, source: str, id_prefix: str
) -> ConversationFile:
    """Describe a sample stored under the same relative path in a mirror and data/raw/."""
    return ConversationFile(
        remote=RemoteFile(key=key, url=url, mirror_path=path, sha256=sha256, filename=path),
        source=source,
        id_prefix=id_prefix,
    )


HH_RLHF_HARMLESS_TEST = _conversation_file(
    "hh_rlhf_harmless_base_test",
    "conversations/hh_rlhf/harmless-base/test.jsonl.gz",
    f"{HH_RLHF_GITHUB_URL}/harmless-base/test.jsonl.gz",
    "ebfaaed21162a4de120ae85366075b34425e2a6303fac59b99555002f7016f03",
    source="hh-rlhf",
    id_prefix="harmless-base/test",
)
# The helpful-base test split is an LFS pointer on GitHub, so it comes from Hugging Face.
HH_RLHF_HELPFUL_TEST = _conversation_file(
    "hh_rlhf_helpful_base_test",
    "conversations/hh_rlhf/helpful-base/test.jsonl.gz",
    f"{HH_RLHF_HF_URL}/helpful-base/test.jsonl.gz",
    None,
    source="hh-rlhf",
    id_prefix="helpful-base/test",
)
# WildChat-1M conversations (AI2, ODC-BY 1.0) already converted to the plain JSONL shape;
# only a mirror has this file, since the publisher ships parquet shards.
WILDCHAT_SAMPLE = _conversation_file(
    "wildchat_convotopo_589",
    "conversations/wildchat_convotopo_589/conversations.jsonl.gz",
    "",
    None,
    source="wildchat",
    id_prefix="wildchat_convotopo_589",
)


# 100 English OpenAssistant message trees (LAION, Apache-2.0), from the publisher's repository.
OASST_COMMIT = "f1e6ed9526f5817531f3ab85441a40b3671ddccb"
OASST_EN_100_TREE = _conversation_file(
    "oasst_en_100_tree",
    "conversations/oasst1_en_sample/en_100_tree.jsonl",
    f"https://raw.githubusercontent.com/LAION-AI/Open-Assistant/{OASST_COMMIT}"
    "/model/model_eval/manual/data/en_100_tree.jsonl",
    "a27639214a5098bf9e1cc62a855c85c630b64ab48ee94655e7f6046438b0aedb",
    source="oasst1_en_sample",
    id_prefix="en_100_tree",
)
# hh-rlhf helpful-base conversations as a flat OpenAssistant message list; the mirror keeps a
# gzipped copy, so only a mirror has this file.
HH_RLHF_HELPFUL_OA_SEED = _conversation_file(
    "hh_rlhf_helpful_oa_seed",
    "conversations/hh_rlhf_helpful_oa_seed/realistic_seed_data.json.gz",
    "",
    None,
    source="hh-rlhf",
    id_prefix="helpful-base_oa_seed",
)


def sample_conversation_files(has_mirror: bool) -> list[ConversationFile]:
    """Return the public samples `make run` loads: the mirror's set, or what downloads."""
    if has_mirror:
        return [HH_RLHF_HARMLESS_TEST, WILDCHAT_SAMPLE, OASST_EN_100_TREE, HH_RLHF_HELPFUL_OA_SEED]
    return [HH_RLHF_HARMLESS_TEST, HH_RLHF_HELPFUL_TEST, OASST_EN_100_TREE]
