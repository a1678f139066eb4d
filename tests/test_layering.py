"""topics/ is a library usable from any notebook: it must never import Prefect."""

import ast
from pathlib import Path

TOPICS = Path(__file__).resolve().parents[1] / "topics"


def test_topics_never_imports_prefect():
    offenders = []
    for path in TOPICS.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in ("prefect", "flows")]
    assert offenders == []
