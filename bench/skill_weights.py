"""Chooses L14's search weights on the development half of the labelled skill queries.

``python -m bench.skill_weights``: like ``bench.role_weights``, on
``tests/data/skill_queries.jsonl``; writes ``services/l14_skills/data/weights.json``. The
held-out half is never read; ``python -m bench.roles`` reports recall@3 on it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from bench.blend import choose, evaluate, labelled, signal_array, write_weights
from bench.own_mesh import run_on_own_mesh
from services.kit import open_channel
from services.kit.semantic_index import MEANING_SIGNALS, SemanticIndex
from services.l14_skills.config import SkillSettings
from services.l14_skills.definitions import load_shipped_skills
from services.l14_skills.search import SIGNALS, signals
from services.l14_skills.skills import INDEX_COLLECTION
from services.launcher.config import LauncherSettings
from tests.support import DEV_TOKEN

QUERIES = Path("tests/data/skill_queries.jsonl")


async def tune(settings: LauncherSettings) -> None:
    dev = labelled(QUERIES, "dev")
    l01 = open_channel(f"127.0.0.1:{settings.layer_port('l01')}", token=DEV_TOKEN)
    l04 = open_channel(f"127.0.0.1:{settings.layer_port('l04')}", token=DEV_TOKEN, timeout=60)
    index = SemanticIndex(l01, l04, INDEX_COLLECTION)
    names = sorted(s.name for s in load_shipped_skills(SkillSettings().skills_dir))
    await index.load(names)
    vectors = await index.embed([str(row["query"]) for row in dev])
    found = [
        [(s.name, s.values) for s in signals(str(row["query"]), index.similarities(v), names)]
        for row, v in zip(dev, vectors, strict=True)
    ]
    array = signal_array(found, names, SIGNALS)
    truth = np.array([names.index(str(row["skill"])) for row in dev])
    weights, (top1, top3, _) = choose(array, truth, SIGNALS, MEANING_SIGNALS, by_top3=True)
    print(f"development half ({len(dev)} queries): top-1 {top1:.1%}, recall@3 {top3:.1%}")
    print(f"weights: {weights}")
    for name in SIGNALS:
        alone = np.array([float(s == name) for s in SIGNALS])
        print(f"  {name} alone: recall@3 {evaluate(array, truth, alone)[1]:.1%}")
    path = SkillSettings().weights_path
    write_weights(path, f"{QUERIES} split=dev", len(dev), weights, top1, top3)
    print(f"written to {path}")
    await l01.close()
    await l04.close()


def main() -> int:
    return run_on_own_mesh(tune)


if __name__ == "__main__":
    sys.exit(main())
