"""Run inside the interpreter being checked (`python -c <this file> <json>`): import things, report as JSON.

Standalone on purpose (no imports from preflight): the fresh environment does not contain this package.
"""

import json
import os
import sys
import traceback

MARK = "@@preflight@@ "


def emit(event: dict[str, object]) -> None:
    sys.stdout.write(MARK + json.dumps(event) + "\n")
    sys.stdout.flush()


def failure(exc: BaseException, root: str) -> dict[str, object]:
    last = traceback.format_exception_only(type(exc), exc)[-1].strip()
    where: list[object] | None = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename.startswith(root) and "site-packages" not in frame.filename:
            where = [os.path.relpath(frame.filename, root), frame.lineno]
    if isinstance(exc, SyntaxError) and exc.filename and exc.filename.startswith(root):
        where = [os.path.relpath(exc.filename, root), exc.lineno]
    return {"error": last, "where": where}


def main() -> None:
    task = json.loads(sys.argv[1])
    root = os.getcwd()
    for name in task.get("imports", []):
        emit({"start": name})
        try:
            __import__(name)
        except BaseException as exc:  # SystemExit and KeyboardInterrupt at import are failures too
            emit({"import": name, "ok": False, **failure(exc, root)})
        else:
            emit({"import": name, "ok": True})
    if task.get("dists"):
        from importlib.metadata import packages_distributions

        emit({"dists": packages_distributions()})


if __name__ == "__main__":
    main()
