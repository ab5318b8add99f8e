"""A labelled corpus for the concept benchmark, from the Python standard library this machine
has: the docstrings of public functions and classes of a few packages, each labelled by its
package. Prints one JSON object per line: {"label": ..., "text": ...}.

Usage: python3 concept_corpus.py N   (at most N documents, taken evenly across the labels)
"""

import importlib
import inspect
import json
import pkgutil
import sys

PACKAGES = [
    "asyncio", "email", "xml", "http", "unittest", "logging", "importlib", "multiprocessing",
    "tkinter", "urllib", "idlelib", "argparse", "zipfile", "tarfile", "ssl", "socket",
    "subprocess", "threading", "pathlib", "sqlite3", "decimal", "datetime", "csv", "pickle",
]


def docs_of(package):
    seen = set()
    try:
        root = importlib.import_module(package)
    except Exception:
        return
    modules = [root]
    for info in pkgutil.walk_packages(getattr(root, "__path__", []), package + "."):
        if ".test" in info.name or "__main__" in info.name:
            continue
        try:
            modules.append(importlib.import_module(info.name))
        except Exception:
            continue
    for m in modules:
        for name, obj in sorted(vars(m).items()):
            if name.startswith("_"):
                continue
            if not (inspect.isfunction(obj) or inspect.isclass(obj)):
                continue
            if getattr(obj, "__module__", "").split(".")[0] != package:
                continue
            members = [obj]
            if inspect.isclass(obj):
                members += [v for k, v in sorted(vars(obj).items())
                            if not k.startswith("_") and inspect.isfunction(v)]
            for o in members:
                doc = " ".join((inspect.getdoc(o) or "").split())
                if len(doc) < 80 or doc in seen:
                    continue
                seen.add(doc)
                yield doc[:800]


def main():
    want = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    by = {p: list(docs_of(p)) for p in PACKAGES}
    by = {p: d for p, d in by.items() if len(d) >= 40}
    # round robin across the labels, so none dominates while documents last
    out = []
    at = 0
    while len(out) < want and any(at < len(d) for d in by.values()):
        for p, docs in by.items():
            if at < len(docs) and len(out) < want:
                out.append({"label": p, "text": docs[at]})
        at += 1
    for row in out:
        print(json.dumps(row))


if __name__ == "__main__":
    main()
